package dev.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes image (Dockerfile) agrees with what submits to it and with the build: the Spark base image is the
 * pom's Spark on Java 17, the jar and log config sit where jobs/common.sh points local:// and log4j2, and hadoop-aws
 * is the Hadoop of the classpath with the AWS SDK that Hadoop's own pom names. (No Docker daemon here: the image is
 * not built by the tests.)
 */
class DockerfileTest {
  static final String IMAGE_JAR_URI = "local:///opt/sparkgpt/sparkgpt-spark-submit.jar";
  private static final Path ROOT = SubmitScriptsTest.ROOT;

  private static String arg(String dockerfile, String name) {
    Matcher m = Pattern.compile("(?m)^ARG " + name + "=(\\S+)$").matcher(dockerfile);
    assertTrue(m.find(), "Dockerfile has no ARG " + name);
    return m.group(1);
  }

  @Test
  void theImageIsThePomsSparkOnJava17WithTheJarWhereCommonShLooks(@TempDir Path tmp) throws Exception {
    String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
    String pom = Files.readString(ROOT.resolve("pom.xml"));
    Matcher spark = Pattern.compile("<spark.version>([^<]+)</spark.version>").matcher(pom);
    assertTrue(spark.find());
    assertEquals("apache/spark:" + spark.group(1) + "-scala2.12-java17-ubuntu", arg(dockerfile, "SPARK_IMAGE"));
    assertEquals(org.apache.spark.package$.MODULE$.SPARK_VERSION(), spark.group(1), "the classpath's Spark");
    assertTrue(dockerfile.contains("\nFROM ${SPARK_IMAGE}\n"));

    // the jar path: the one jobs/common.sh submits for k8s cluster mode, and the copy really lands there
    String jarPath = IMAGE_JAR_URI.substring("local://".length());
    assertTrue(dockerfile.contains("\nCOPY target/sparkgpt-*-spark-submit.jar " + jarPath + "\n"), dockerfile);
    Object[] submitted = SubmitScriptsTest.submit(tmp, Map.of("MASTER", "k8s://https://127.0.0.1:6443",
        "DEPLOY_MODE", "cluster"), "dev.sparkgpt.jobs.EvalJob");
    @SuppressWarnings("unchecked")
    List<String> args = (List<String>) submitted[2];
    assertEquals(IMAGE_JAR_URI, args.get(args.size() - 1));
    assertTrue(String.join(" ", args).contains("-Dlog4j2.configurationFile=file:/opt/sparkgpt/conf/log4j2-spark.properties"));
    assertTrue(dockerfile.contains("\nCOPY conf/ /opt/sparkgpt/conf/\n"), "conf/ (with log4j2-spark.properties)");
    assertTrue(Files.exists(ROOT.resolve("conf/log4j2-spark.properties")));
    // the checkout's layout, so the Airflow DAGs' SPARKGPT_FILES=file:///opt/sparkgpt finds the bundled data
    assertTrue(dockerfile.contains("\nCOPY src/main/resources/data/ /opt/sparkgpt/src/main/resources/data/\n"));

    // .dockerignore lets through exactly what the COPY lines read
    List<String> ignore = Files.readAllLines(ROOT.resolve(".dockerignore"));
    assertTrue(ignore.containsAll(List.of("*", "!target/sparkgpt-*-spark-submit.jar", "!conf/",
        "!src/main/resources/data/")), ignore.toString());
    assertTrue(Files.isDirectory(ROOT.resolve("src/main/resources/data")));
  }

  @Test
  void hadoopAwsIsTheClasspathsHadoopWithTheSdkItsPomNames() throws Exception {
    String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
    String hadoop = org.apache.hadoop.util.VersionInfo.getVersion();
    assertEquals(hadoop, arg(dockerfile, "HADOOP_AWS_VERSION"));
    Path hadoopProject = Path.of(System.getProperty("user.home"), ".m2/repository/org/apache/hadoop/hadoop-project",
        hadoop, "hadoop-project-" + hadoop + ".pom");
    Matcher sdk = Pattern.compile("<aws-java-sdk.version>([^<]+)</aws-java-sdk.version>")
        .matcher(Files.readString(hadoopProject));
    assertTrue(sdk.find(), hadoopProject.toString());
    assertEquals(sdk.group(1), arg(dockerfile, "AWS_SDK_VERSION"));
    assertEquals("1", arg(dockerfile, "WITH_S3A"), "s3a:// works in the image by default");
  }
}
