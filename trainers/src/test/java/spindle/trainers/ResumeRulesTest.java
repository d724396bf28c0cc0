// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rerun that resumes uses the configuration it was given: changed keys that may change (the lr) are
 * reported and take effect at the next step; a changed fixed key (the seed) stops it, naming both values.
 */
class ResumeRulesTest {
    static final ResumeRules RULES = ResumeRules.fixed("model.", "train.seed").withFreshStartKey("train.resume");

    private static Map<String, Object> config(double lr, int seed) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model.config", "tiny");
        c.put("train.lr", lr);
        c.put("train.seed", seed);
        c.put("train.resume", true);
        return c;
    }

    /** A TinyRun to {@code steps} with peak lr {@code lr}, the given run configuration, its notices and step metrics. */
    private static FitResult run(Path dir, long steps, double lr, Map<String, Object> config, List<String> notices,
            List<StepMetrics> metrics) throws IOException {
        TinyRun r = new TinyRun(TinyRun.options(steps), dir, 5, 0, lr);
        r.trainer.setConfig(config, RULES).setNotices(notices::add).addCallback(new Callback() {
            @Override
            public void onStep(StepMetrics m, Trainer trainer) {
                metrics.add(m);
            }
        });
        return r.fit();
    }

    @Test
    void aLowerLrOnResumeIsReportedAndUsedFromTheNextStep(@TempDir Path dir) throws IOException {
        run(dir, 10, TinyRun.LR, config(TinyRun.LR, 0), new ArrayList<>(), new ArrayList<>());
        List<String> notices = new ArrayList<>();
        List<StepMetrics> metrics = new ArrayList<>();
        double lower = TinyRun.LR / 4;
        FitResult r = run(dir, 12, lower, config(lower, 0), notices, metrics);
        assertEquals(10, r.firstStep());
        assertTrue(notices.contains("train.lr: 0.02 -> 0.005 (changed since the checkpoint; the new value is used)"),
            notices.toString());
        assertEquals(11, metrics.get(0).step());
        // The schedule continues at step 10 (factor(10) of the first step after it), scaled from the new peak lr.
        assertEquals(lower * TinyRun.SCHEDULE.factor(10), metrics.get(0).lr(), 0.0);
        assertEquals(lower, new ObjectMapper().readTree(dir.resolve("step-000012").resolve(Checkpointer.OPTIMIZER_JSON)
            .toFile()).at("/groups/0/initialLr").asDouble(), 0.0, "the next checkpoint records the lr it trained with");
    }

    @Test
    void aChangedSeedIsAnErrorNamingTheKeyBothValuesAndTheWayToStartFresh(@TempDir Path dir) throws IOException {
        run(dir, 5, TinyRun.LR, config(TinyRun.LR, 0), new ArrayList<>(), new ArrayList<>());
        var e = assertThrows(IllegalArgumentException.class,
            () -> run(dir, 10, TinyRun.LR, config(TinyRun.LR, 7), new ArrayList<>(), new ArrayList<>()));
        assertEquals("train.seed cannot change when a run resumes: " + dir.resolve("step-000005") + " was written with"
            + " train.seed=0, the configuration now has train.seed=7. Set it back, or start from step 0 with"
            + " train.resume=false (deletes the checkpoints) or in another output folder", e.getMessage());
    }

    @Test
    void resumeFalseDeletesTheCheckpointsAndStartsAtStepZero(@TempDir Path dir) throws IOException {
        run(dir, 10, TinyRun.LR, config(TinyRun.LR, 0), new ArrayList<>(), new ArrayList<>());
        List<String> notices = new ArrayList<>();
        TinyRun fresh = new TinyRun(TinyRun.options(3), dir, 5, 0, TinyRun.LR);
        Map<String, Object> seven = config(TinyRun.LR, 7);
        seven.put("train.resume", false);
        FitResult r = fresh.trainer.setConfig(seven, RULES).setResume(false).setNotices(notices::add).fit(fresh.train);
        assertEquals(0, r.firstStep());
        assertEquals(List.of("starting at step 0: deleted the checkpoints in " + dir), notices);
        assertEquals(List.of(dir.resolve("step-000003")), new Checkpointer(dir, 5, 0).complete());
    }

    @Test
    void numbersCompareByValueAndAPrefixFixesEveryKeyUnderIt(@TempDir Path dir) throws IOException {
        var saved = new ObjectMapper().readTree("{\"train.steps\": 3.0, \"model.config\": \"a\", \"data.seq\": 8}");
        Map<String, Object> now = new LinkedHashMap<>();
        now.put("train.steps", 3);
        now.put("model.config", "b");
        var e = assertThrows(IllegalArgumentException.class, () -> RULES.compare(now, saved, dir));
        assertTrue(e.getMessage().startsWith("model.config cannot change"), e.getMessage());
        now.put("model.config", "a");
        now.put("train.warmup", 2);
        assertEquals(List.of("train.warmup: not in the checkpoint's configuration; using 2",
            "data.seq: no longer a key (it was 8)"), RULES.compare(now, saved, dir));
        assertTrue(RULES.isFixed("model.anything") && !RULES.isFixed("train.lr"));
    }
}
