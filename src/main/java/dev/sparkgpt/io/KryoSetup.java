package dev.sparkgpt.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Spark's Kryo set up for SparkGPT ({@code spark.kryo.registrator=dev.sparkgpt.io.KryoSetup}). Kryo 4, as Spark
 * ships it, cannot rebuild Java records (their fields are final and it has no constructor to call), so every
 * record is written component by component and rebuilt through its canonical constructor.
 */
public final class KryoSetup implements KryoRegistrator {
  /** The Spark setting that installs this registrator. */
  public static final String CONF_KEY = "spark.kryo.registrator";

  @Override
  public void registerClasses(Kryo kryo) {
    kryo.addDefaultSerializer(Record.class, RecordSerializer.class);
  }

  /** Writes a record's components in declaration order; reads them back into its canonical constructor. */
  public static final class RecordSerializer extends Serializer<Record> {
    private final Method[] accessors;
    private final Constructor<?> constructor;

    public RecordSerializer(Kryo kryo, Class<?> type) {
      RecordComponent[] components = type.getRecordComponents();
      accessors = new Method[components.length];
      Class<?>[] types = new Class<?>[components.length];
      for (int i = 0; i < components.length; i++) {
        accessors[i] = components[i].getAccessor();
        accessors[i].setAccessible(true);
        types[i] = components[i].getType();
      }
      try {
        constructor = type.getDeclaredConstructor(types);
        constructor.setAccessible(true);
      } catch (NoSuchMethodException e) {
        throw new IllegalStateException("record " + type.getName() + " has no canonical constructor", e);
      }
    }

    @Override
    public void write(Kryo kryo, Output output, Record record) {
      try {
        for (Method accessor : accessors) {
          kryo.writeClassAndObject(output, accessor.invoke(record));
        }
      } catch (IllegalAccessException | InvocationTargetException e) {
        throw new IllegalStateException("cannot serialise " + record.getClass().getName(), e);
      }
    }

    @Override
    public Record read(Kryo kryo, Input input, Class<Record> type) {
      Object[] values = new Object[accessors.length];
      for (int i = 0; i < values.length; i++) {
        values[i] = kryo.readClassAndObject(input);
      }
      try {
        return (Record) constructor.newInstance(values);
      } catch (InstantiationException | IllegalAccessException | InvocationTargetException e) {
        throw new IllegalStateException("cannot rebuild " + type.getName(), e);
      }
    }
  }
}
