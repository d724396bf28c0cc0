// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import spindle.autograd.AnomalyMode;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.data.DataLoader;
import spindle.data.LoaderOptions;
import spindle.optim.LrSchedule;
import spindle.optim.Sgd;
import spindle.optim.SgdOptions;

/** The op that made a NaN or Inf on a data-parallel replica's thread is named by the trainer's stop. */
class ReplicaAnomalyTest {
    @Test
    void anInfiniteGradientOnAReplicaNamesItsOp() {
        var model = new TrainerTest.SqrtAtZero();
        var t = new Trainer(model, new Sgd(model.namedParameters(), SgdOptions.of(0.1)), LrSchedule.constant(),
            b -> StepLoss.of(Reductions.sum(Elementwise.sqrt(model.p))),
            TrainerOptions.defaults().withMaxSteps(5).withReplicas(2)).setAnomalyDetector(AnomalyDetector.tape());
        DataLoader data = new DataLoader(TinyRun.teacherData(8, 1), LoaderOptions.of(8));
        NonFiniteException e;
        try (var on = AnomalyMode.enable()) {
            e = assertThrows(NonFiniteException.class, () -> t.fit(data));
        }
        assertEquals("gradient norm", e.quantity());
        assertEquals("sqrt (backward)", e.op().orElse(null), e.getMessage());
    }
}
