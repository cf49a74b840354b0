package org.resnet4j.spark;

import java.io.Serializable;
import java.util.function.Supplier;

/**
 * A {@link Supplier} that Spark can ship to its executors. A lambda or method reference whose
 * target type is this interface is serializable by the Java language itself (JLS 15.27.4), so
 * {@code () -> Models.create("resnet20", ModelConfig.defaults(6))} travels inside a task as its
 * captured arguments, and each executor builds its own object from it.
 *
 * @param <T> what it builds
 */
@FunctionalInterface
public interface SerializableSupplier<T> extends Supplier<T>, Serializable {}
