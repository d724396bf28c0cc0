// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** bench --profile sorts a stack sample by phase, kind of work, op and layer. */
class StepSampleTest {
    /** A stack from its innermost frame out; "native:" marks a native method. */
    private static StackTraceElement[] stack(String... frames) {
        StackTraceElement[] out = new StackTraceElement[frames.length];
        for (int i = 0; i < frames.length; i++) {
            boolean nativeMethod = frames[i].startsWith("native:");
            String f = nativeMethod ? frames[i].substring(7) : frames[i];
            int dot = f.lastIndexOf('.');
            out[i] = new StackTraceElement(f.substring(0, dot), f.substring(dot + 1), null, nativeMethod ? -2 : 10);
        }
        return out;
    }

    @Test
    void aGemmInALinearBackwardIsNamedByTheOpItsLambdaWasWrittenIn() {
        StepSample s = StepSample.of(stack("native:org.nd4j.linalg.cpu.nativecpu.blas.CpuLevel3.sgemm",
            "org.nd4j.linalg.factory.Nd4j.gemm", "spindle.autograd.ops.Linalg.meteredGemm",
            "spindle.autograd.ops.Linalg.gemm", "spindle.autograd.ops.Linalg.lambda$linear$0",
            "spindle.autograd.ops.Linalg$$Lambda$77.apply", "spindle.autograd.Engine.run",
            "spindle.autograd.Tensor.backward", "spindle.trainers.Trainer.fit"));
        assertEquals(new StepSample("backward", "gemm", "Linalg.linear backward", "(backward)"), s);
    }

    @Test
    void theNativeGemmInAttentionIsAGemm() {
        StepSample s = StepSample.of(stack("native:spindle.autograd.kernels.NativeGemm.gemm",
            "spindle.autograd.kernels.NativeGemm$Plan.run", "spindle.autograd.kernels.NativeGemm.tryProduct",
            "spindle.autograd.ops.Attention.product", "spindle.autograd.ops.Attention$Block.forward",
            "spindle.autograd.ops.Attention.causal", "spindle.layers.attention.MultiHeadAttention.forward",
            "spindle.trainers.Trainer.fit"));
        assertEquals(new StepSample("forward", "gemm", "Attention.causal", "MultiHeadAttention"), s);
    }

    @Test
    void anAllocationInAForwardOpIsCountedForTheOpAndTheInnermostLayer() {
        StepSample s = StepSample.of(stack("native:org.bytedeco.javacpp.Pointer.allocate",
            "org.nd4j.linalg.cpu.nativecpu.buffer.BaseCpuDataBuffer.<init>",
            "org.nd4j.linalg.factory.Nd4j.createUninitialized", "spindle.autograd.ops.Norms.rmsNorm",
            "spindle.layers.RmsNorm.forward", "spindle.layers.models.DecoderBlock.forward",
            "spindle.trainers.LanguageModeling.loss", "spindle.trainers.Trainer.fit"));
        assertEquals(new StepSample("forward", "allocation", "Norms.rmsNorm", "RmsNorm"), s);
    }

    @Test
    void nativeAndJavaSidesOfNd4jAndTheOptimizerAreToldApart() {
        StepSample kernel = StepSample.of(stack("native:org.nd4j.nativeblas.Nd4jCpu.execPairwiseTransform",
            "org.nd4j.linalg.cpu.nativecpu.ops.NativeOpExecutioner.exec", "spindle.optim.Adam.update",
            "spindle.optim.Optimizer.step", "spindle.trainers.Trainer.fit"));
        assertEquals(new StepSample("optimizer", "nd4j native", "Optimizer.step", "(optimizer)"), kernel);
        StepSample glue = StepSample.of(stack("org.nd4j.linalg.api.shape.Shape.shapeOf",
            "spindle.autograd.ops.Elementwise.mul", "spindle.layers.SwiGlu.forward", "spindle.trainers.Trainer.fit"));
        assertEquals("nd4j java", glue.kind());
    }

    @Test
    void idleThreadsAndThreadsOutsideSpindleAreNotSamples() {
        assertNull(StepSample.of(stack("jdk.internal.misc.Unsafe.park", "spindle.trainers.DataParallel.lambda$run$1")));
        assertNull(StepSample.of(stack("java.lang.ref.Reference.waitForReferencePendingList",
            "java.lang.ref.Reference$ReferenceHandler.run")));
    }
}
