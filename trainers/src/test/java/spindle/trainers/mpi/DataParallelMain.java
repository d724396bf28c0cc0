// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.trainers.Callback;
import spindle.trainers.NonFiniteException;
import spindle.trainers.StepLoss;
import spindle.trainers.StepMetrics;
import spindle.trainers.Trainer;

/**
 * One rank of a {@link Scenario} run, started by the tests under {@code mpirun}:
 * {@code DataParallelMain SCENARIO[,SCENARIO...] STEPS OUT_DIR [CHECKPOINT_DIR|-] [FAULT]}, one run after the other;
 * writes OUT_DIR/SCENARIO/rank{r}.bin. FAULT
 * {@code halt@S}, {@code throw@S} or {@code nan@S} makes rank 1 die, throw, or see a NaN loss in step S.
 */
public final class DataParallelMain {
    private DataParallelMain() {}

    public static void main(String[] args) throws Exception {
        ProcessGroup group = ProcessGroup.world();
        try {
            run(args, group);
        } catch (NonFiniteException e) {   // every rank stops at the same step with this error
            System.err.println("rank " + group.rank() + " stopped: " + e.getMessage());
            ProcessGroup.finish();
            System.exit(3);
        } catch (Throwable t) {
            t.printStackTrace();
            ProcessGroup.abortOnFailure(t);
            System.exit(1);
        }
        ProcessGroup.finish();
        System.exit(0);
    }

    private static void run(String[] args, ProcessGroup group) throws Exception {
        for (String name : args[0].split(",")) {
            run(Scenario.named(name), args, group);
        }
    }

    private static void run(Scenario scenario, String[] args, ProcessGroup group) throws Exception {
        long steps = Long.parseLong(args[1]);
        Path out = Path.of(args[2]).resolve(scenario.name());
        Path checkpoints = args.length > 3 && !args[3].equals("-") ? Path.of(args[3]) : null;
        String fault = args.length > 4 ? args[4] : "none@0";
        String kind = fault.substring(0, fault.indexOf('@'));
        long faultStep = Long.parseLong(fault.substring(fault.indexOf('@') + 1));
        boolean faulty = group.rank() == 1;
        long[] stepNow = {1};
        Scenario.Run run = scenario.new Run(group, steps, checkpoints, group.size(), objective -> batch -> {
            StepLoss loss = objective.loss(batch);
            if (faulty && kind.equals("nan") && stepNow[0] == faultStep) {
                Tensor nan = Tensor.of(Nd4j.valueArrayOf(loss.loss().shape(), Double.NaN, loss.loss().dtype()));
                return StepLoss.of(Elementwise.add(loss.loss(), nan));   // ND4J's mul(NaN) does not give NaN
            }
            if (faulty && kind.equals("throw") && stepNow[0] == faultStep) {
                throw new IllegalStateException("injected failure on rank 1 in step " + faultStep);
            }
            return loss;
        });
        run.trainer.addCallback(new Callback() {
            @Override
            public void onStep(StepMetrics m, Trainer t) {
                stepNow[0] = m.step() + 1;
                if (faulty && kind.equals("halt") && m.step() + 1 == faultStep) {
                    Runtime.getRuntime().halt(9);   // as a killed process: no cleanup, no MPI_Finalize
                }
            }
        });
        Scenario.Result result = run.fit();
        Files.createDirectories(out);
        result.write(out.resolve("rank" + group.rank() + ".bin"));
    }
}
