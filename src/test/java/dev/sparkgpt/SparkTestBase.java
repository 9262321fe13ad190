package dev.sparkgpt;

import dev.sparkgpt.io.HadoopConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;

/**
 * Real Spark in local[2] for tests. One session serves every test class of the JVM (starting Spark costs seconds
 * on 2 cores); it stops when the JVM exits.
 */
public abstract class SparkTestBase {
  protected static SparkSession spark;

  @BeforeAll
  static void startSpark() {
    spark = shared();
  }

  /** The JVM-wide local[2] session. */
  public static synchronized SparkSession shared() {
    if (spark == null || spark.sparkContext().isStopped()) {
      SparkSession.Builder builder = SparkSession.builder();
      HadoopConf.LOCAL_FILES.forEach((key, value) -> builder.config(HadoopConf.SPARK_PREFIX + key, value));
      spark = builder
          .appName("sparkgpt-tests")
          .master("local[2]")
          .config("spark.ui.enabled", "false")
          .config("spark.sql.shuffle.partitions", "4")
          .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
          .config(dev.sparkgpt.io.KryoSetup.CONF_KEY, dev.sparkgpt.io.KryoSetup.class.getName())
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.sql.sources.commitProtocolClass",
              "org.apache.spark.sql.execution.datasources.SQLHadoopMapReduceCommitProtocol")
          .getOrCreate();
      SparkSession session = spark;
      Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
    }
    return spark;
  }
}
