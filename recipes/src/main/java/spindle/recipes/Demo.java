// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static spindle.autograd.ops.Activations.gelu;
import static spindle.autograd.ops.Indexing.embedding;
import static spindle.autograd.ops.Linalg.linear;
import static spindle.autograd.ops.Shapes.reshape;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Softmax;
import spindle.data.EmbeddedData;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.layers.Init;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;

/**
 * A byte-level language model trained on the embedded Moby-Dick with the autograd API and the library's Adam:
 * the previous {@code context} bytes are embedded, concatenated and fed through a GELU MLP that scores
 * the next byte (Bengio et al. 2003). Prints the training loss as it falls, then the held-out loss
 * and a sampled continuation.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Train a small byte-level MLP language model on Moby-Dick; prints a falling loss.")
final class Demo implements Callable<Integer> {
    @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps = 3000;
    @Option(names = "--batch", description = "Examples per step (default: ${DEFAULT-VALUE}).")
    int batch = 128;
    @Option(names = "--context", description = "Bytes of context per prediction (default: ${DEFAULT-VALUE}).")
    int context = 8;
    @Option(names = "--embed", description = "Embedding width per byte (default: ${DEFAULT-VALUE}).")
    int embed = 24;
    @Option(names = "--hidden", description = "Hidden width of the MLP (default: ${DEFAULT-VALUE}).")
    int hidden = 384;
    @Option(names = "--lr", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double lr = 3e-3;
    @Option(names = "--seed", description = "Seed for initialisation, batches and sampling (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    private static final int VOCAB = 256;

    @Override
    public Integer call() throws IOException {
        int[] bytes = new ByteTokenizer().encode(EmbeddedData.mobyDick());
        int split = bytes.length * 9 / 10;   // the last tenth is held out
        var rng = new SplittableRandom(seed);
        Map<String, Tensor> named = new LinkedHashMap<>();   // in the order logits() reads them
        named.put("wte", param(Init.normal(0, 1.0, rng), VOCAB, embed));
        named.put("fc.weight", param(Init.normal(0, Math.sqrt(1.0 / (context * embed)), rng), hidden, context * embed));
        named.put("fc.bias", param(Init.zeros(), hidden));
        named.put("head.weight", param(Init.normal(0, Math.sqrt(1.0 / hidden), rng), VOCAB, hidden));
        named.put("head.bias", param(Init.zeros(), VOCAB));
        List<Tensor> params = List.copyOf(named.values());
        var adam = new Adam(named, AdamOptions.adam().withLr(lr));

        System.out.printf("demo: %d bytes of Moby-Dick, %d parameters, %d steps of %d examples%n",
            bytes.length, params.stream().mapToLong(p -> p.value().length()).sum(), steps, batch);
        double window = 0;
        long t0 = System.nanoTime();
        for (int step = 1; step <= steps; step++) {
            INDArray[] xy = sample(bytes, 0, split, rng);
            Tensor loss = Losses.crossEntropy(logits(params, xy[0]), Tensor.of(xy[1]));
            loss.backward();
            adam.step();
            adam.zeroGrad();
            window += loss.item();
            loss.close();
            if (step == 1) {
                System.out.printf("step %5d  train loss %.3f%n", step, window);
                window = 0;
            } else if (step % 250 == 0) {
                System.out.printf("step %5d  train loss %.3f  (%.1f s)%n", step, window / (step == 250 ? 249 : 250), (System.nanoTime() - t0) / 1e9);
                window = 0;
            }
        }
        try (var off = GradMode.disable()) {
            double val = 0;
            for (int i = 0; i < 20; i++) {
                INDArray[] xy = sample(bytes, split, bytes.length, rng);
                val += Losses.crossEntropy(logits(params, xy[0]), Tensor.of(xy[1])).item() / 20;
            }
            System.out.printf("held-out loss %.3f nats/byte (uniform guess: %.3f)%n", val, Math.log(VOCAB));
            System.out.println("sample: " + generate(params, bytes, split, 200, rng).replace('\n', ' '));
        }
        return 0;
    }

    /** ids [B, context] -> logits [B, 256]. */
    private Tensor logits(List<Tensor> p, INDArray ids) {
        Tensor e = reshape(embedding(p.get(0), Tensor.of(ids)), ids.size(0), (long) context * embed);
        Tensor h = gelu(linear(e, p.get(1), p.get(2)));
        return linear(h, p.get(3), p.get(4));
    }

    /** A batch of random windows from bytes[from, to): inputs [B, context] and next-byte targets [B]. */
    private INDArray[] sample(int[] bytes, int from, int to, SplittableRandom rng) {
        long[] x = new long[batch * context];
        long[] y = new long[batch];
        for (int b = 0; b < batch; b++) {
            int start = rng.nextInt(from, to - context - 1);
            for (int t = 0; t < context; t++) {
                x[b * context + t] = bytes[start + t] & 0xff;
            }
            y[b] = bytes[start + context] & 0xff;
        }
        return new INDArray[] {Nd4j.createFromArray(x).reshape(batch, context), Nd4j.createFromArray(y)};
    }

    /** Samples {@code n} bytes after a held-out prompt, one at a time from the softmax. */
    private String generate(List<Tensor> p, int[] bytes, int promptAt, int n, SplittableRandom rng) {
        long[] window = new long[context];
        for (int t = 0; t < context; t++) {
            window[t] = bytes[promptAt + t] & 0xff;
        }
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            INDArray probs = Softmax.softmax(logits(p, Nd4j.createFromArray(window).reshape(1, context)), -1).value();
            double u = rng.nextDouble();
            int next = 0;
            double cumulative = probs.getDouble(0, 0);
            while (cumulative < u && next < VOCAB - 1) {
                cumulative += probs.getDouble(0, ++next);
            }
            System.arraycopy(window, 1, window, 0, context - 1);
            window[context - 1] = next;
            out[i] = (byte) next;
        }
        return new String(out, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static Tensor param(Init init, long... shape) {
        return Tensor.of(init.create(DataType.FLOAT, shape)).requiresGrad(true);
    }
}
