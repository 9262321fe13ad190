package dev.sparkgpt.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
    // List.of/Set.of/Map.of and unmodifiable views: Kryo would rebuild them by calling add() on an instance
    // that refuses it (UnsupportedOperationException on the executor, seen on a standalone cluster).
    for (Object immutable : List.of(List.of(), List.of(1), List.of(1, 2, 3), Set.of(), Set.of(1), Set.of(1, 2, 3),
        Collections.unmodifiableList(new ArrayList<>()), Collections.unmodifiableList(new LinkedList<>()),
        Collections.unmodifiableSet(new HashSet<>()), Collections.unmodifiableCollection(new ArrayList<>()))) {
      kryo.register(immutable.getClass(), new ImmutableCollectionSerializer());
    }
    for (Object immutable : List.of(Map.of(), Map.of(1, 1), Map.of(1, 1, 2, 2),
        Collections.unmodifiableMap(new HashMap<>()))) {
      kryo.register(immutable.getClass(), new ImmutableMapSerializer());
    }
  }

  /** Writes the elements; reads them back into an unmodifiable list or set of the same kind. */
  static final class ImmutableCollectionSerializer extends Serializer<Collection<Object>> {
    @Override
    public void write(Kryo kryo, Output output, Collection<Object> collection) {
      output.writeBoolean(collection instanceof Set);
      output.writeInt(collection.size(), true);
      for (Object element : collection) {
        kryo.writeClassAndObject(output, element);
      }
    }

    @Override
    public Collection<Object> read(Kryo kryo, Input input, Class<Collection<Object>> type) {
      boolean set = input.readBoolean();
      int n = input.readInt(true);
      List<Object> elements = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        elements.add(kryo.readClassAndObject(input));
      }
      return set ? Collections.unmodifiableSet(new LinkedHashSet<>(elements)) : Collections.unmodifiableList(elements);
    }
  }

  /** Writes the entries; reads them back into an unmodifiable map (null values allowed). */
  static final class ImmutableMapSerializer extends Serializer<Map<Object, Object>> {
    @Override
    public void write(Kryo kryo, Output output, Map<Object, Object> map) {
      output.writeInt(map.size(), true);
      for (Map.Entry<Object, Object> e : map.entrySet()) {
        kryo.writeClassAndObject(output, e.getKey());
        kryo.writeClassAndObject(output, e.getValue());
      }
    }

    @Override
    public Map<Object, Object> read(Kryo kryo, Input input, Class<Map<Object, Object>> type) {
      int n = input.readInt(true);
      Map<Object, Object> map = new LinkedHashMap<>(n * 2);
      for (int i = 0; i < n; i++) {
        map.put(kryo.readClassAndObject(input), kryo.readClassAndObject(input));
      }
      return Collections.unmodifiableMap(map);
    }
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
