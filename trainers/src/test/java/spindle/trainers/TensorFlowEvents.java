// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses event records with TensorFlow's generated classes from org.tensorflow:proto 1.15.0, loaded in a
 * class loader of their own: nd4j-api ships a different org.tensorflow.framework.Summary (built against
 * its shaded protobuf), which would otherwise shadow TensorFlow's on the test classpath.
 */
final class TensorFlowEvents {
    /** One summary value: its tag, which oneof case is set, and the simple_value. */
    record Value(String tag, String valueCase, float simpleValue) {}

    /** The fields of tensorflow.Event that our writer sets. */
    record Event(double wallTime, long step, String fileVersion, boolean hasSummary, List<Value> values) {}

    private static final Method PARSE_FROM;

    static {
        try {
            URL proto = org.tensorflow.util.Event.class.getProtectionDomain().getCodeSource().getLocation();
            URL protobuf = com.google.protobuf.Parser.class.getProtectionDomain().getCodeSource().getLocation();
            ClassLoader isolated = new URLClassLoader(new URL[] {proto, protobuf}, ClassLoader.getPlatformClassLoader());
            PARSE_FROM = isolated.loadClass("org.tensorflow.util.Event").getMethod("parseFrom", byte[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private TensorFlowEvents() {}

    /** org.tensorflow.util.Event.parseFrom(data), read back into {@link Event}; throws if protobuf rejects it. */
    static Event parse(byte[] data) throws ReflectiveOperationException {
        Object e = PARSE_FROM.invoke(null, (Object) data);
        List<Value> values = new ArrayList<>();
        boolean hasSummary = (boolean) call(e, "hasSummary");
        if (hasSummary) {
            for (Object v : (List<?>) call(call(e, "getSummary"), "getValueList")) {
                values.add(new Value((String) call(v, "getTag"), call(v, "getValueCase").toString(),
                    (float) call(v, "getSimpleValue")));
            }
        }
        return new Event((double) call(e, "getWallTime"), (long) call(e, "getStep"),
            (String) call(e, "getFileVersion"), hasSummary, values);
    }

    private static Object call(Object target, String getter) throws ReflectiveOperationException {
        return target.getClass().getMethod(getter).invoke(target);
    }
}
