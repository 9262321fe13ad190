package dev.sparkgpt.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.tensorflow.hadoop.util.TFRecordReader;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/** Reads TensorBoard event files in tests: TensorFlow's TFRecord reader (CRCs checked) and Event protos. */
public final class TensorBoardFiles {
  private TensorBoardFiles() {}

  /** The event files of a run directory, in the name order TensorBoard reads them. */
  public static List<Path> files(Path runDir) throws IOException {
    try (var list = Files.list(runDir.resolve(TensorBoardEvents.DIR))) {
      return list.sorted().toList();
    }
  }

  /** Every event of one file, in order. */
  public static List<Event> events(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return events(in);
    }
  }

  /** Every event of one file's stream (e.g. an HDFS file's), in order. */
  public static List<Event> events(InputStream in) throws IOException {
    List<Event> out = new ArrayList<>();
    TFRecordReader records = new TFRecordReader(in, true);
    for (byte[] r = records.read(); r != null; r = records.read()) {
      out.add(Event.parseFrom(r));
    }
    return out;
  }

  /** step → value of one tag's scalars. */
  public static Map<Long, Float> scalars(List<Event> events, String tag) {
    Map<Long, Float> out = new TreeMap<>();
    for (Event e : events) {
      for (Summary.Value v : e.getSummary().getValueList()) {
        if (v.getTag().equals(tag)) {
          out.put(e.getStep(), v.getSimpleValue());
        }
      }
    }
    return out;
  }
}
