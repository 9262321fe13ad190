# syntax=docker/dockerfile:1
# SparkGPT for Spark on Kubernetes: Spark 3.5.1 on Java 17 (the Spark and Hadoop SparkGPT is built against), the
# uber-jar and conf/ at /opt/sparkgpt, and hadoop-aws for s3a:// paths. docs/operations.md shows how to submit.
#
#   mvn -Pspark-submit -DskipTests package
#   docker build -t registry.example.com/sparkgpt:0.1 .          (--build-arg WITH_S3A=0: no hadoop-aws, -280 MB)
#
# jobs/common.sh, with MASTER=k8s://... and DEPLOY_MODE=cluster, submits local:///opt/sparkgpt/sparkgpt-spark-submit.jar
# and -Dlog4j2.configurationFile=file:/opt/sparkgpt/conf/log4j2-spark.properties: the paths below (DockerfileTest).
ARG SPARK_IMAGE=apache/spark:3.5.1-scala2.12-java17-ubuntu
FROM ${SPARK_IMAGE}

# hadoop-aws of Spark 3.5.1's Hadoop (3.3.4) and the AWS SDK bundle that hadoop-aws 3.3.4 was built with
ARG HADOOP_AWS_VERSION=3.3.4
ARG AWS_SDK_VERSION=1.12.262
ARG WITH_S3A=1
ARG MAVEN_CENTRAL=https://repo1.maven.org/maven2

USER root
# libgomp1: the OpenMP runtime ND4J's native CPU backend links against
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends libgomp1; \
    rm -rf /var/lib/apt/lists/*; \
    if [ "$WITH_S3A" = 1 ]; then \
      cd /opt/spark/jars; \
      for jar in org/apache/hadoop/hadoop-aws/$HADOOP_AWS_VERSION/hadoop-aws-$HADOOP_AWS_VERSION.jar \
                 com/amazonaws/aws-java-sdk-bundle/$AWS_SDK_VERSION/aws-java-sdk-bundle-$AWS_SDK_VERSION.jar; do \
        name=$(basename "$jar"); \
        wget -nv -O "$name" "$MAVEN_CENTRAL/$jar"; \
        echo "$(wget -qO- "$MAVEN_CENTRAL/$jar.sha1" | cut -c1-40)  $name" | sha1sum -c -; \
        chmod 644 "$name"; \
      done; \
    fi

ENV SPARKGPT_HOME=/opt/sparkgpt
COPY conf/ /opt/sparkgpt/conf/
COPY src/main/resources/data/ /opt/sparkgpt/src/main/resources/data/
COPY target/sparkgpt-*-spark-submit.jar /opt/sparkgpt/sparkgpt-spark-submit.jar

USER spark
