package dev.sparkgpt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
  private final LrSchedule schedule = new LrSchedule(1e-3, 1e-4, 10, 110);

  @Test
  void warmsUpLinearlyFromTheFirstStep() {
    assertEquals(1e-4, schedule.at(0), 1e-18);
    assertEquals(5e-4, schedule.at(4), 1e-18);
    assertEquals(1e-3, schedule.at(9), 1e-18);
  }

  @Test
  void decaysOnACosineToMinLrAndStaysThere() {
    assertEquals(1e-3, schedule.at(10), 1e-18);
    assertEquals(1e-4 + 0.5 * (1 + Math.cos(Math.PI * 0.25)) * 9e-4, schedule.at(35), 1e-18);
    assertEquals(5.5e-4, schedule.at(60), 1e-15);   // halfway: the mean of lr and min_lr
    assertEquals(1e-4, schedule.at(110), 1e-18);
    assertEquals(1e-4, schedule.at(500), 1e-18);
  }

  @Test
  void withoutWarmupOrDecayItIsConstant() {
    LrSchedule constant = new LrSchedule(2e-3, 2e-3, 0, 0);
    assertEquals(2e-3, constant.at(0));
    assertEquals(2e-3, constant.at(1000));
  }

  @Test
  void refusesMinAboveMax() {
    assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-4, 1e-3, 0, 10));
  }
}
