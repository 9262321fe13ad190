package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfPrecisionTest {

  /** The value of F16 bits from the IEEE 754 definition, computed in double without the class under test. */
  private static double halfValueFromDefinition(int bits) {
    int sign = (bits >> 15) & 1;
    int exponent = (bits >> 10) & 0x1F;
    int mantissa = bits & 0x3FF;
    double magnitude = exponent == 0 ? Math.scalb((double) mantissa, -24)
        : exponent == 0x1F ? (mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
        : Math.scalb(1024.0 + mantissa, exponent - 25);
    return sign == 1 ? -magnitude : magnitude;
  }

  private static String hex(int bits) {
    return String.format("0x%04X", bits & 0xFFFF);
  }

  @Test
  void everyHalfPatternDecodesToItsExactValue() {
    for (int bits = 0; bits < 0x10000; bits++) {
      float decoded = HalfPrecision.halfToFloat((short) bits);
      double expected = halfValueFromDefinition(bits);
      if (Double.isNaN(expected)) {
        assertTrue(Float.isNaN(decoded), hex(bits));
      } else {
        assertEquals(expected, decoded, 0.0, hex(bits));
        assertEquals(Double.doubleToRawLongBits(expected) >>> 63, Float.floatToRawIntBits(decoded) >>> 31,
            "sign of " + hex(bits));
      }
    }
  }

  @Test
  void everyHalfPatternRoundTripsThroughFloatBitForBit() {
    for (int bits = 0; bits < 0x10000; bits++) {
      short back = HalfPrecision.floatToHalf(HalfPrecision.halfToFloat((short) bits));
      assertEquals(hex(bits), hex(back));
    }
  }

  @Test
  void everyHalfPatternRoundTripsThroughDouble() {
    for (int bits = 0; bits < 0x10000; bits++) {
      short back = HalfPrecision.doubleToHalf(HalfPrecision.halfToFloat((short) bits));
      assertSameOrQuietedNan(bits, back, 0x7C00, 0x0200);
    }
  }

  /** The JVM's float-to-double widening quiets a signaling NaN; everything else must survive bit for bit. */
  private static void assertSameOrQuietedNan(int bits, short back, int exponentMask, int quietBit) {
    boolean nan = (bits & exponentMask) == exponentMask && (bits & ~exponentMask & 0x7FFF) != 0;
    assertEquals(hex(nan ? bits | quietBit : bits), hex(back));
  }

  @Test
  void floatToHalfRoundsEveryMidpointToEvenAndNeighboursToNearest() {
    // Between each pair of adjacent finite positive halves: the exact midpoint ties to the even one, one float ulp
    // below goes down, one above goes up.
    for (int bits = 0; bits < 0x7BFF; bits++) {
      float low = HalfPrecision.halfToFloat((short) bits);
      float high = HalfPrecision.halfToFloat((short) (bits + 1));
      float middle = (low + high) / 2; // exact: halves have 11 significant bits, floats 24
      int even = (bits & 1) == 0 ? bits : bits + 1;
      assertEquals(hex(even), hex(HalfPrecision.floatToHalf(middle)), "midpoint above " + hex(bits));
      assertEquals(hex(bits), hex(HalfPrecision.floatToHalf(Math.nextDown(middle))), "below midpoint " + hex(bits));
      assertEquals(hex(bits + 1), hex(HalfPrecision.floatToHalf(Math.nextUp(middle))), "above midpoint " + hex(bits));
      assertEquals(hex(even | 0x8000), hex(HalfPrecision.floatToHalf(-middle)), "negative midpoint " + hex(bits));
    }
  }

  @Test
  void floatToHalfOverflowsToInfinityAtTheRoundingThreshold() {
    assertEquals("0x7BFF", hex(HalfPrecision.floatToHalf(65504f)));
    assertEquals("0x7BFF", hex(HalfPrecision.floatToHalf(Math.nextDown(65520f))));
    assertEquals("0x7C00", hex(HalfPrecision.floatToHalf(65520f)));
    assertEquals("0x7C00", hex(HalfPrecision.floatToHalf(1e10f)));
    assertEquals("0x7C00", hex(HalfPrecision.floatToHalf(Float.MAX_VALUE)));
    assertEquals("0x7C00", hex(HalfPrecision.floatToHalf(Float.POSITIVE_INFINITY)));
    assertEquals("0xFC00", hex(HalfPrecision.floatToHalf(Float.NEGATIVE_INFINITY)));
    assertEquals("0xFC00", hex(HalfPrecision.floatToHalf(-65520f)));
  }

  @Test
  void floatToHalfHandlesSubnormalsAndZeros() {
    float smallest = 0x1p-24f;
    assertEquals("0x0001", hex(HalfPrecision.floatToHalf(smallest)));
    assertEquals("0x0000", hex(HalfPrecision.floatToHalf(0x1p-25f)), "half the smallest ties to even zero");
    assertEquals("0x0001", hex(HalfPrecision.floatToHalf(Math.nextUp(0x1p-25f))));
    assertEquals("0x0002", hex(HalfPrecision.floatToHalf(3 * 0x1p-25f)), "1.5 smallest ties to even 2");
    assertEquals("0x03FF", hex(HalfPrecision.floatToHalf(1023 * smallest)), "largest subnormal");
    assertEquals("0x0400", hex(HalfPrecision.floatToHalf(0x1p-14f)), "smallest normal");
    assertEquals("0x0400", hex(HalfPrecision.floatToHalf(1023.5f * smallest)), "subnormal rounding up to normal");
    assertEquals("0x0000", hex(HalfPrecision.floatToHalf(Float.MIN_VALUE)));
    assertEquals("0x8000", hex(HalfPrecision.floatToHalf(-Float.MIN_VALUE)));
    assertEquals("0x8000", hex(HalfPrecision.floatToHalf(-0.0f)));
    assertEquals("0x3C00", hex(HalfPrecision.floatToHalf(1f)));
    assertEquals("0xC000", hex(HalfPrecision.floatToHalf(-2f)));
    assertEquals("0x3555", hex(HalfPrecision.floatToHalf(1f / 3)));
  }

  @Test
  void floatToHalfKeepsNanSignAndPayload() {
    assertEquals("0x7E00", hex(HalfPrecision.floatToHalf(Float.NaN)));
    assertEquals("0xFE00", hex(HalfPrecision.floatToHalf(Float.intBitsToFloat(0xFFC00000))));
    // A payload only in the low 13 bits would truncate to infinity; it must stay NaN.
    short lowPayload = HalfPrecision.floatToHalf(Float.intBitsToFloat(0x7F800001));
    assertTrue(Float.isNaN(HalfPrecision.halfToFloat(lowPayload)), hex(lowPayload));
  }

  @Test
  void everyBfloat16PatternRoundTripsThroughFloatAndDouble() {
    for (int bits = 0; bits < 0x10000; bits++) {
      float value = HalfPrecision.bfloat16ToFloat((short) bits);
      assertEquals(Float.intBitsToFloat(bits << 16), value, 0f, hex(bits));
      assertEquals(hex(bits), hex(HalfPrecision.floatToBfloat16(value)));
      assertSameOrQuietedNan(bits, HalfPrecision.doubleToBfloat16(value), 0x7F80, 0x0040);
    }
  }

  @Test
  void floatToBfloat16RoundsChosenValuesToNearestEven() {
    float step = 0x1p-7f; // bf16 ulp at 1.0
    assertEquals("0x3F80", hex(HalfPrecision.floatToBfloat16(1f)));
    assertEquals("0x3F80", hex(HalfPrecision.floatToBfloat16(1f + step / 2)), "tie goes to even 0x3F80");
    assertEquals("0x3F81", hex(HalfPrecision.floatToBfloat16(Math.nextUp(1f + step / 2))));
    assertEquals("0x3F82", hex(HalfPrecision.floatToBfloat16(1f + 3 * step / 2)), "tie goes to even 0x3F82");
    assertEquals("0x3F81", hex(HalfPrecision.floatToBfloat16(Math.nextDown(1f + 3 * step / 2))));
    assertEquals("0x3EAB", hex(HalfPrecision.floatToBfloat16(1f / 3)));
    assertEquals("0xC049", hex(HalfPrecision.floatToBfloat16((float) -Math.PI)));
    assertEquals("0x7F80", hex(HalfPrecision.floatToBfloat16(Float.MAX_VALUE)), "overflows to infinity");
    assertEquals("0x7F7F", hex(HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0x7F7F7FFF))));
    assertEquals("0x7F80", hex(HalfPrecision.floatToBfloat16(Float.POSITIVE_INFINITY)));
    assertEquals("0xFF80", hex(HalfPrecision.floatToBfloat16(Float.NEGATIVE_INFINITY)));
    assertEquals("0x8000", hex(HalfPrecision.floatToBfloat16(-0.0f)));
    assertEquals("0x0000", hex(HalfPrecision.floatToBfloat16(Float.MIN_VALUE)), "below half a bf16 ulp");
    assertEquals("0x0000", hex(HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0x00008000))), "tie to even zero");
    assertEquals("0x0002", hex(HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0x00018000))), "tie to even 2");
    assertEquals("0x0001", hex(HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0x00008001))));
    assertEquals("0x0080", hex(HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0x007FFFFF))), "up to normal");
  }

  @Test
  void floatToBfloat16KeepsNan() {
    assertEquals("0x7FC0", hex(HalfPrecision.floatToBfloat16(Float.NaN)));
    assertEquals("0xFFC0", hex(HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0xFFC00000))));
    short lowPayload = HalfPrecision.floatToBfloat16(Float.intBitsToFloat(0x7F800001));
    assertTrue(Float.isNaN(HalfPrecision.bfloat16ToFloat(lowPayload)), hex(lowPayload));
  }

  @Test
  void doubleConversionsRoundOnceInsteadOfTwiceThroughFloat() {
    // 1 + 2^-11 + 2^-40 lies just above the F16 midpoint between 1 and 1 + 2^-10. Through float, the 2^-40 is
    // lost first and the tie then goes down to 1.0; rounding the double once must go up.
    double aboveHalfTie = 1 + 0x1p-11 + 0x1p-40;
    assertEquals("0x3C00", hex(HalfPrecision.floatToHalf((float) aboveHalfTie)), "the double-rounding trap");
    assertEquals("0x3C01", hex(HalfPrecision.doubleToHalf(aboveHalfTie)));
    assertEquals("0x3C00", hex(HalfPrecision.doubleToHalf(1 + 0x1p-11 - 0x1p-40)));
    assertEquals("0x3C00", hex(HalfPrecision.doubleToHalf(1 + 0x1p-11)), "exact tie to even");
    double aboveBf16Tie = 1 + 0x1p-8 + 0x1p-40;
    assertEquals("0x3F80", hex(HalfPrecision.floatToBfloat16((float) aboveBf16Tie)), "the double-rounding trap");
    assertEquals("0x3F81", hex(HalfPrecision.doubleToBfloat16(aboveBf16Tie)));
    assertEquals("0xBF81", hex(HalfPrecision.doubleToBfloat16(-aboveBf16Tie)));
    assertEquals("0x0001", hex(HalfPrecision.doubleToHalf(0x1p-25 + 0x1p-60)), "just above half the smallest");
    assertEquals("0x0000", hex(HalfPrecision.doubleToHalf(1e-300)));
    assertEquals("0x8000", hex(HalfPrecision.doubleToHalf(-1e-300)));
    assertEquals("0x7C00", hex(HalfPrecision.doubleToHalf(1e300)));
    assertEquals("0x7F80", hex(HalfPrecision.doubleToBfloat16(Double.MAX_VALUE)));
    assertTrue(Float.isNaN(HalfPrecision.halfToFloat(HalfPrecision.doubleToHalf(Double.NaN))));
  }
}
