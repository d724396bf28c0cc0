// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The program the kill test runs in a child JVM: trains {@link TinyRun} to {@code maxSteps} with a
 * checkpoint every 5 steps in {@code dir} (resuming from it when it holds one), appending
 * "step lossBits" to {@code lossFile} after each step. Usage: CheckpointChild dir lossFile maxSteps.
 */
public final class CheckpointChild {
    private CheckpointChild() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Path lossFile = Path.of(args[1]);
        long maxSteps = Long.parseLong(args[2]);
        TinyRun run = new TinyRun(maxSteps, dir, 5, 0);
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(lossFile, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND))) {
            run.trainer.addCallback(new Callback() {
                @Override
                public void onStep(StepMetrics m, Trainer trainer) {
                    out.println(m.step() + " " + Long.toHexString(Double.doubleToRawLongBits(m.loss())));
                    out.flush();   // the process may be killed at any moment after this
                }
            });
            run.fit();
        }
    }
}
