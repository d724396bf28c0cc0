// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.Set;

/**
 * One stack sample of a training thread, sorted four ways: the step's phase (forward, backward, optimizer,
 * trainer), the kind of work at the top of the stack, the op that called it and the layer that called the op.
 *
 * <p>Kinds: {@code gemm} (any product routed through the GEMM paths), {@code allocation} (ND4J creating buffers
 * or shape descriptors), {@code nd4j native} (inside a native ND4J call: the kernel and libnd4j's fixed cost),
 * {@code nd4j java} (ND4J's Java side: building op objects, checks, JNI glue) and {@code spindle java} (the
 * autograd engine, the layers, the optimizer's own code).
 */
record StepSample(String phase, String kind, String op, String layer) {
    private static final Set<String> GEMM_METHODS = Set.of("meteredGemm", "meteredMatmul", "product");

    /** The sample of a stack ([0] is the innermost frame), or null for a thread that is not in a step's work. */
    static StepSample of(StackTraceElement[] stack) {
        if (stack.length == 0 || waiting(stack[0])) {
            return null;
        }
        String phase = null;
        for (StackTraceElement f : stack) {
            String c = f.getClassName();
            if (c.startsWith("spindle.optim.")) {
                phase = "optimizer";
                break;
            }
            if (c.equals("spindle.autograd.Engine")) {
                phase = "backward";
                break;
            }
            if (c.startsWith("spindle.layers.") || c.startsWith("spindle.autograd.ops.")) {
                phase = "forward";
            } else if (phase == null && c.startsWith("spindle.trainers.")) {
                phase = "trainer";
            }
        }
        if (phase == null) {
            return null;
        }
        return new StepSample(phase, kind(stack), op(stack, phase), layer(stack, phase));
    }

    private static boolean waiting(StackTraceElement top) {
        String m = top.getMethodName();
        return top.getClassName().equals("jdk.internal.misc.Unsafe") && m.equals("park")
            || top.getClassName().equals("java.lang.Object") && m.equals("wait")
            || top.getClassName().equals("java.lang.Thread") && m.equals("sleep");
    }

    private static String kind(StackTraceElement[] stack) {
        int first = 0;   // the innermost Spindle frame: what lies above it is library code (the native GEMM's too)
        while (first < stack.length && (!stack[first].getClassName().startsWith("spindle.")
            || stack[first].getClassName().startsWith("spindle.autograd.kernels.NativeGemm")
            || stack[first].getClassName().equals("spindle.autograd.kernels.GemmOperand"))) {
            first++;
        }
        if (first < stack.length && GEMM_METHODS.contains(stack[first].getMethodName())
            && stack[first].getClassName().startsWith("spindle.autograd.ops.")) {
            return "gemm";
        }
        if (first == 0) {
            return "spindle java";
        }
        for (int i = 0; i < first; i++) {
            String c = stack[i].getClassName();
            String m = stack[i].getMethodName();
            if (c.contains("DataBuffer") || c.contains("javacpp.Pointer") || c.contains("MemoryManager")
                || c.contains("Workspace") || m.startsWith("create") || m.equals("allocate")) {
                return "allocation";
            }
        }
        return stack[0].isNativeMethod() ? "nd4j native" : "nd4j java";
    }

    /** The outermost op (Class.method, a lambda named by its method), or what else the step was doing. */
    private static String op(StackTraceElement[] stack, String phase) {
        String backward = phase.equals("backward") ? " backward" : "";
        for (int i = stack.length - 1; i >= 0; i--) {
            String c = stack[i].getClassName();
            if (c.contains("$$Lambda")) {
                continue;   // the lambda's class calls its body, lambda$linear$0, in the frame below
            }
            if (c.startsWith("spindle.autograd.ops.") || phase.equals("optimizer") && c.startsWith("spindle.optim.")) {
                return simple(c) + "." + method(stack[i].getMethodName()) + backward;
            }
        }
        return phase.equals("backward") ? "(engine: gradient sums)" : "(" + phase + " glue)";
    }

    private static String layer(StackTraceElement[] stack, String phase) {
        if (!phase.equals("forward")) {
            return "(" + phase + ")";
        }
        for (StackTraceElement f : stack) {
            String c = f.getClassName();
            if (c.startsWith("spindle.layers.") && !c.equals("spindle.layers.Module")) {
                return simple(c);
            }
        }
        return "(loss and glue)";
    }

    private static String simple(String className) {
        String s = className.substring(className.lastIndexOf('.') + 1);
        int inner = s.indexOf('$');
        return inner > 0 ? s.substring(0, inner) : s;
    }

    /** "lambda$linear$2" is the backward written inside linear. */
    private static String method(String name) {
        if (name.startsWith("lambda$")) {
            int end = name.indexOf('$', 7);
            return name.substring(7, end > 7 ? end : name.length());
        }
        return name;
    }
}
