package dev.sparkgpt.io;

/**
 * Bit-exact conversions between float/double and the 16-bit formats F16 (IEEE binary16) and BF16 (bfloat16).
 *
 * <p>Narrowing rounds to nearest, ties to even, overflows to infinity and keeps NaN (sign and as much payload as
 * fits; the double variants return signaling NaNs quieted, as the JVM's float/double conversions do). Widening
 * is exact. Java 17 has no {@code Float.floatToFloat16}, and ND4J's Java-side HALF conversion does
 * not round to nearest-even (see {@code SafetensorsFileTest.readArrayRoundsF32ToHalfToNearestEven}).
 */
public final class HalfPrecision {
  private static final int HALF_EXPONENT_MASK = 0x7C00;
  private static final int FLOAT_EXPONENT_BIAS_DIFFERENCE = 127 - 15;

  private HalfPrecision() {}

  /** The F16 bits nearest to {@code value} (ties to even). */
  public static short floatToHalf(float value) {
    int bits = Float.floatToRawIntBits(value);
    int sign = (bits >>> 16) & 0x8000;
    int exponent = (bits >>> 23) & 0xFF;
    int mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) {
      if (mantissa == 0) {
        return (short) (sign | HALF_EXPONENT_MASK);
      }
      int payload = mantissa >>> 13;
      return (short) (sign | HALF_EXPONENT_MASK | (payload == 0 ? 0x200 : payload));
    }
    int halfExponent = exponent - FLOAT_EXPONENT_BIAS_DIFFERENCE;
    if (halfExponent >= 0x1F) {
      return (short) (sign | HALF_EXPONENT_MASK);
    }
    if (halfExponent >= 1) {
      // A mantissa carry rolls into the exponent, and from exponent 30 into infinity (0x7C00): both are right.
      return (short) (sign | roundRightShift((halfExponent << 23) | mantissa, 13));
    }
    // Half subnormal: value / 2^-24 with the implicit bit made explicit; a carry to 1024 is the smallest normal.
    int significand = exponent == 0 ? mantissa : (mantissa | 0x800000);
    return (short) (sign | roundRightShift(significand, 14 - halfExponent));
  }

  /** The exact float value of F16 bits. */
  public static float halfToFloat(short half) {
    int bits = half & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1F;
    int mantissa = bits & 0x3FF;
    if (exponent == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      float magnitude = mantissa * 0x1p-24f; // exact: at most 10 significant bits
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent + FLOAT_EXPONENT_BIAS_DIFFERENCE) << 23) | (mantissa << 13));
  }

  /** The F16 bits nearest to {@code value}, rounded once (no double rounding through float). */
  public static short doubleToHalf(double value) {
    return floatToHalf(roundToOddFloat(value));
  }

  /** The BF16 bits nearest to {@code value} (ties to even). */
  public static short floatToBfloat16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      int truncated = bits >>> 16;
      return (short) ((truncated & 0x7F) == 0 ? truncated | 0x40 : truncated);
    }
    // Adding 0x7FFF plus the lowest kept bit rounds to nearest-even; a carry past the largest finite gives infinity.
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  /** The exact float value of BF16 bits. */
  public static float bfloat16ToFloat(short bfloat16) {
    return Float.intBitsToFloat((bfloat16 & 0xFFFF) << 16);
  }

  /** The BF16 bits nearest to {@code value}, rounded once (no double rounding through float). */
  public static short doubleToBfloat16(double value) {
    return floatToBfloat16(roundToOddFloat(value));
  }

  /**
   * Narrows to float with round-to-odd: an inexact result gets an odd last bit. With 24 significant bits against
   * 11 (F16) or 8 (BF16), a second round-to-nearest-even from it equals rounding the double directly.
   */
  static float roundToOddFloat(double value) {
    float nearest = (float) value;
    if (Double.isNaN(value) || Float.isInfinite(nearest) || nearest == value
        || (Float.floatToRawIntBits(nearest) & 1) == 1) {
      return nearest;
    }
    return nearest > value ? Math.nextDown(nearest) : Math.nextUp(nearest);
  }

  /** {@code value >>> shift} rounded to nearest, ties to even; {@code value} is non-negative and below 2^31. */
  private static int roundRightShift(int value, int shift) {
    if (shift > 30) {
      return 0; // value < 2^31 so the quotient is below one half
    }
    int kept = value >>> shift;
    int dropped = value & ((1 << shift) - 1);
    int halfway = 1 << (shift - 1);
    if (dropped > halfway || (dropped == halfway && (kept & 1) == 1)) {
      kept++;
    }
    return kept;
  }
}
