package dev.sparkgpt.data;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The Parquet schema of a token shard row (format version {@value #FORMAT_VERSION}; docs/shard-format.md). */
public final class ShardSchema {
  public static final int FORMAT_VERSION = 1;
  public static final String FORMAT = "sparkgpt-token-shards";
  public static final String TOKENS = "tokens";
  public static final String LENGTH = "length";
  public static final String DOC_ID = "doc_id";
  public static final String OFFSET = "offset";

  /** tokens: seq_len + 1 ids (padded); length: real ids; doc_id: document of the first id; offset: stream position. */
  public static final StructType SCHEMA = new StructType()
      .add(TOKENS, DataTypes.createArrayType(DataTypes.IntegerType, false), false)
      .add(LENGTH, DataTypes.IntegerType, false)
      .add(DOC_ID, DataTypes.LongType, false)
      .add(OFFSET, DataTypes.LongType, false);

  private ShardSchema() {}
}
