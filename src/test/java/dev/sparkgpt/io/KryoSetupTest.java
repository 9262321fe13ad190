package dev.sparkgpt.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparkgpt.data.BlockPacker;
import dev.sparkgpt.data.SourceFile;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/** What executors receive must survive Spark's Kryo exactly (local mode never round-trips broadcasts). */
class KryoSetupTest {
  private static <T> T roundTrip(T value) {
    SparkConf conf = new SparkConf(false).set(KryoSetup.CONF_KEY, KryoSetup.class.getName());
    SerializerInstance kryo = new KryoSerializer(conf).newInstance();
    ByteBuffer bytes = kryo.serialize(value, ClassTag$.MODULE$.apply(Object.class));
    return kryo.deserialize(bytes, ClassTag$.MODULE$.apply(Object.class));
  }

  @Test
  void recordsAndImmutableCollectionsRoundTrip() {
    SourceFile file = new SourceFile("hdfs://nn/x.txt", 42, "txt", false, 3);
    assertEquals(file, roundTrip(file));
    BlockPacker.Placement placement = BlockPacker.place(List.of(
        new BlockPacker.PieceCount(new BlockPacker.PieceKey(1, 0), 0, 5),
        new BlockPacker.PieceCount(new BlockPacker.PieceKey(2, 0), 1, 7)), false, 0.5);
    BlockPacker.Placement back = roundTrip(placement);
    assertEquals(placement.segments(), back.segments());
    assertArrayEquals(placement.splitTokens(), back.splitTokens());
    Map<String, Object> nested = Map.of("a", List.of(1, 2, 3), "b", Set.of("x"), "c", List.of(),
        "d", Collections.unmodifiableList(new java.util.ArrayList<>(List.of(4))));
    assertEquals(nested, roundTrip(nested));
  }
}
