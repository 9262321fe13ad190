package dev.sparkgpt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparkgpt.SparkTestBase;
import dev.sparkgpt.eval.LogLikelihood.Request;
import dev.sparkgpt.eval.LogLikelihood.Score;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

class RequestRunnerTest extends SparkTestBase {
  private static Request ofLength(int length) {
    int[] context = new int[length - 1];
    return new Request(context, new int[] {1});
  }

  @Test
  void plansLongestFirstWithTiesInRequestOrder() {
    List<RequestRunner.Batch> batches = RequestRunner.plan(List.of(ofLength(2), ofLength(5), ofLength(3),
        ofLength(5), ofLength(4)), 2);
    assertEquals(3, batches.size());
    assertArrayEquals(new int[] {1, 3}, batches.get(0).indices());
    assertArrayEquals(new int[] {4, 2}, batches.get(1).indices());
    assertArrayEquals(new int[] {0}, batches.get(2).indices());
  }

  @Test
  void sparkExecutorsReturnExactlyTheScoresOfTheLocalLoop() {
    Random random = new Random(7);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < 41; i++) {
      int[] context = random.ints(1 + random.nextInt(9), 0, 50).toArray();
      int[] continuation = random.ints(1 + random.nextInt(3), 0, 50).toArray();
      requests.add(new Request(context, continuation)); // up to 12 tokens: some are cut to the context of 6
    }
    TestModels.Hashed model = new TestModels.Hashed(50, 6);
    LocalRunner localRunner = new LocalRunner(model, 4);
    Score[] local = localRunner.score(requests);
    SparkRunner sparkRunner = new SparkRunner(JavaSparkContext.fromSparkContext(spark.sparkContext()),
        ModelFactory.of(model), 4, 3);
    Score[] distributed = sparkRunner.score(requests);
    assertArrayEquals(local, distributed);
    Score[] oneByOne = new LocalRunner(model, 1).score(requests);
    assertArrayEquals(local, oneByOne, "batch composition does not change a score");

    // what eval's progress bars read: requests asked for and scored, over every call
    assertEquals(new RequestRunner.Tally(41, 41), localRunner.tally());
    assertEquals(new RequestRunner.Tally(41, 41), sparkRunner.tally());
    sparkRunner.score(requests.subList(0, 10));
    localRunner.score(requests.subList(0, 10));
    assertEquals(new RequestRunner.Tally(51, 51), sparkRunner.tally());
    assertEquals(new RequestRunner.Tally(51, 51), localRunner.tally());
  }
}
