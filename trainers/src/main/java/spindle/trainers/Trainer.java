// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.LoaderPosition;
import spindle.layers.AfterOptimizerStep;
import spindle.layers.Module;
import spindle.optim.GradClip;
import spindle.optim.LrSchedule;
import spindle.optim.Optimizer;
import spindle.trainers.mpi.ProcessGroup;

/**
 * The training loop, as in nanoGPT's train.py and torchtune's recipes: for each optimizer step, set the
 * scheduled lr, run {@code gradAccumulation} micro-batches of forward and backward (each loss divided by
 * the count), clip the global gradient norm, step, log, evaluate and checkpoint every N steps. A loss or
 * gradient norm that is NaN or infinite stops the run with a {@link NonFiniteException} before the update.
 *
 * <pre>{@code
 * var trainer = new Trainer(model, optimizer, LrSchedule.warmupCosine(100, 5000, 0.1), objective,
 *                           TrainerOptions.defaults().withMaxSteps(5000).withEval(250, 20));
 * trainer.setCheckpointer(new Checkpointer(out.resolve("checkpoints"), 500, 3));
 * trainer.addLogger(new ConsoleLogger(System.err));
 * trainer.fit(trainLoader, valLoader);   // resumes from the newest checkpoint in out/checkpoints, if any
 * }</pre>
 */
public final class Trainer {
    private final Module model;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final Objective objective;
    private final TrainerOptions options;
    private final List<MetricLogger> loggers = new ArrayList<>();
    private final List<Callback> callbacks = new ArrayList<>();
    private Checkpointer checkpointer;
    private Map<String, Object> config = Map.of();
    private ResumeRules resumeRules;   // null: the configuration is not compared on resume
    private boolean resume = true;
    private Consumer<String> notices = System.err::println;
    private AnomalyDetector anomaly = AnomalyDetector.NONE;
    private TrainingRandom random = new TrainingRandom(0);
    private long step;
    private final AtomicLong peakRss = new AtomicLong();   // replica threads update it too
    private boolean stopRequested;
    private DistributedBackward parallel;   // during fit: the micro-batches' forward and backward
    private CommTotals comm = new CommTotals();
    private ProcessGroup group;             // null until fit: ProcessGroup.world()

    /** A trainer at step 0; {@code objective} computes the loss of {@code model} on a batch. */
    public Trainer(Module model, Optimizer optimizer, LrSchedule schedule, Objective objective, TrainerOptions options) {
        this.model = Objects.requireNonNull(model, "model");
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
        this.schedule = Objects.requireNonNull(schedule, "schedule");
        this.objective = Objects.requireNonNull(objective, "objective");
        this.options = Objects.requireNonNull(options, "options");
    }

    /** Adds a logger; it is closed when {@link #fit} ends. */
    public Trainer addLogger(MetricLogger logger) {
        loggers.add(Objects.requireNonNull(logger, "logger"));
        return this;
    }

    /** Adds a callback, run after the loggers. */
    public Trainer addCallback(Callback callback) {
        callbacks.add(Objects.requireNonNull(callback, "callback"));
        return this;
    }

    /** Saves checkpoints with {@code c} and makes {@link #fit} resume from its newest complete one. */
    public Trainer setCheckpointer(Checkpointer c) {
        this.checkpointer = c;
        return this;
    }

    /** The run's configuration (e.g. the recipe's parsed YAML), saved as JSON in every checkpoint. */
    public Trainer setConfig(Map<String, Object> runConfig) {
        this.config = new LinkedHashMap<>(runConfig);
        return this;
    }

    /**
     * As {@link #setConfig(Map)}; on resume the configuration is compared with the checkpoint's under
     * {@code rules}: a changed fixed key stops the run with an error, other changes are reported and used.
     */
    public Trainer setConfig(Map<String, Object> runConfig, ResumeRules rules) {
        this.resumeRules = Objects.requireNonNull(rules, "rules");
        return setConfig(runConfig);
    }

    /** With false, {@link #fit} deletes the checkpointer's checkpoints and starts at step 0 (default: true, resume). */
    public Trainer setResume(boolean resumeFromCheckpoint) {
        this.resume = resumeFromCheckpoint;
        return this;
    }

    /** Where one-line notices go (what a resume changed, skipped checkpoints); System.err by default. */
    public Trainer setNotices(Consumer<String> sink) {
        this.notices = Objects.requireNonNull(sink, "sink");
        return this;
    }

    /**
     * The randomness the objective draws from (dropout seeds); the trainer saves and restores its position
     * so a resumed run draws the same numbers. Without one, an unused source with seed 0 is saved.
     */
    public Trainer setRandom(TrainingRandom r) {
        this.random = Objects.requireNonNull(r, "random");
        return this;
    }

    /** Asks {@code d} for the op that produced a NaN or Inf; {@link AnomalyDetector#NONE} by default. */
    public Trainer setAnomalyDetector(AnomalyDetector d) {
        this.anomaly = Objects.requireNonNull(d, "detector");
        return this;
    }

    /**
     * The processes that train together (each on its own shard of the data): gradients, losses and token counts are
     * summed over them, rank 0 alone logs and writes checkpoints. By default {@link ProcessGroup#world()}: the MPI
     * job this process belongs to, or this process alone.
     */
    public Trainer setProcessGroup(ProcessGroup g) {
        this.group = Objects.requireNonNull(g, "group");
        return this;
    }

    private ProcessGroup group() {
        if (group == null) {
            group = ProcessGroup.world();
        }
        return group;
    }

    /** Trains on {@code train} without evaluation; see {@link #fit(DataLoader, DataLoader)}. */
    public FitResult fit(DataLoader train) throws IOException {
        return fit(train, null);
    }

    /**
     * Resumes from the checkpointer's newest complete checkpoint if there is one, then trains until
     * maxSteps, maxEpochs or {@link #requestStop()}; checkpoints at the end. {@code eval} may be null.
     */
    public FitResult fit(DataLoader train, DataLoader eval) throws IOException {
        Objects.requireNonNull(train, "train");
        if (checkpointer != null && !resume && group().isMain() && checkpointer.deleteAll() > 0) {
            notices.accept("starting at step 0: deleted the checkpoints in " + checkpointer.dir());
        }
        group().barrier();   // every rank looks for a checkpoint after rank 0 deleted them
        Optional<Checkpoint> last = checkpointer == null ? Optional.empty() : checkpointer.latest(notices);
        if (last.isPresent()) {
            resumeFrom(last.get(), train);
        }
        long first = step;
        long lastSaved = first;
        List<Double> losses = new ArrayList<>();
        double evalLoss = Double.NaN;
        stopRequested = false;
        CrossRank.broadcastState(model, group());   // one starting model on every rank
        comm = new CommTotals();
        model.train();
        parallel = new DistributedBackward(optimizer.parameters().stream().filter(Tensor::requiresGrad).toList(),
            options.replicas(), group(), DistributedBackward.bucketBytes());
        try {
            for (MetricLogger l : activeLoggers()) {
                l.start(first, options.maxSteps());
            }
            callbacks.forEach(c -> c.onStart(step, this));
            while (step < options.maxSteps() && !epochLimitReached(train) && !stopRequested) {
                StepMetrics m = trainStep(train);
                losses.add(m.loss());
                for (MetricLogger l : activeLoggers()) {
                    l.logStep(m);
                }
                callbacks.forEach(c -> c.onStep(m, this));
                if (eval != null && options.evalEvery() > 0 && step % options.evalEvery() == 0) {
                    evalLoss = evaluateAndLog(eval);
                }
                if (checkpointer != null && checkpointer.isDue(step)) {
                    save(train);
                    lastSaved = step;
                }
            }
            if (eval != null && options.evalEvery() > 0 && step % options.evalEvery() != 0 && step > first) {
                evalLoss = evaluateAndLog(eval);
            }
            if (checkpointer != null && step != lastSaved) {
                save(train);
            }
        } catch (Throwable t) {
            closeLoggers(t);
            throw t;
        } finally {
            parallel.close();
            parallel = null;
        }
        if (group().size() > 1 && group().isMain() && step > first) {
            notices.accept(comm.summary(group().size(), step - first));
        }
        closeLoggers(null);
        callbacks.forEach(c -> c.onEnd(step, this));
        return new FitResult(first, step, losses, evalLoss);
    }

    /** One optimizer step over {@code gradAccumulation} micro-batches from {@code train}. */
    private StepMetrics trainStep(DataLoader train) {
        long started = System.nanoTime();
        long stepNumber = step + 1;
        int n = options.gradAccumulation();
        schedule.applyTo(optimizer, step);
        optimizer.parameters().forEach(Tensor::zeroGradKeepingMemory);   // the step's backward reuses the arrays
        double lossSum = 0;
        long tokens = 0;
        Map<String, Double> aux = new LinkedHashMap<>();
        for (int micro = 0; micro < n; micro++) {
            Batch batch = train.next();
            tokens += CountedTargets.of(batch.targets());
            String what = n == 1 ? "loss" : "loss (micro-batch " + (micro + 1) + " of " + n + ")";
            lossSum += microBatch(batch, stepNumber, what, n, aux, micro == n - 1);
        }
        var all = parallel.finishStep(stepNumber, lossSum / n, tokens, aux);   // over all processes
        comm.add(parallel);
        double norm = GradClip.clipGlobalNorm(optimizer.parameters(),
            options.maxGradNorm() > 0 ? options.maxGradNorm() : Double.POSITIVE_INFINITY);
        if (!Double.isFinite(norm)) {
            throw new NonFiniteException(stepNumber, "gradient norm", norm, anomaly.culprit().orElse(null));
        }
        parallel.step(optimizer);
        CrossRank.sumRouterLoads(model, group());
        AfterOptimizerStep.callAll(model);   // rules that move state by the step's forwards (MoE balancing bias)
        step = stepNumber;
        long rss = peakRss.accumulateAndGet(Rss.currentBytes(), Math::max);
        double seconds = (System.nanoTime() - started) * 1e-9;
        return new StepMetrics(step, all.loss(), all.aux(), optimizer.lr(0), norm, all.tokens(), seconds, rss);
    }

    /**
     * Forward and backward of one micro-batch, split over the replicas (one replica: this thread), each loss's
     * gradient divided by {@code n}, the micro-batches per step; returns the loss, the replicas' losses weighted by
     * their rows. A non-finite loss of any replica throws, naming the step, {@code what} and the detector's op,
     * before any gradient is added. Auxiliary values go into {@code aux} the same way, divided by n.
     */
    private double microBatch(Batch batch, long stepNumber, String what, int n, Map<String, Double> aux, boolean last) {
        long rows = batch.size();
        anomaly.beginMicroBatch();   // on this thread too, so a later gradient-norm error names no stale op
        Map<String, Double> replicaAux = Collections.synchronizedMap(new LinkedHashMap<>());
        double loss = parallel.backward(batch, 1.0 / n, last, part -> {
            anomaly.beginMicroBatch();
            StepLoss out = objective.loss(part);
            double value = out.loss().item();
            if (!Double.isFinite(value)) {
                throw new NonFiniteException(stepNumber, what, value, anomaly.culprit().orElse(null));
            }
            double share = (double) part.size() / rows;
            out.aux().forEach((k, v) -> replicaAux.merge(k, v * share / n, Double::sum));
            peakRss.accumulateAndGet(Rss.currentBytes(), Math::max);   // activations are alive now
            return out.loss();
        });
        replicaAux.forEach((k, v) -> aux.merge(k, v, Double::sum));
        return loss;
    }

    /**
     * Mean loss over the first evalBatches batches of {@code eval} (all of an epoch when it has fewer),
     * in eval mode without the tape; the model is back in training mode afterwards.
     */
    public double evaluate(DataLoader eval) {
        eval.restore(new LoaderPosition(0, 0, eval.position().seed()));
        int batches = Math.min(options.evalBatches(), eval.batchesPerEpoch());
        if (batches == 0) {
            throw new IllegalArgumentException("the evaluation loader has no batch: its dataset is too small");
        }
        double sum = 0;
        model.eval();
        try (GradMode.Scope off = GradMode.disable()) {
            for (int i = 0; i < batches; i++) {
                sum += objective.loss(eval.next()).loss().item();
            }
        } finally {
            model.train();
        }
        return sum / batches;
    }

    private double evaluateAndLog(DataLoader eval) throws IOException {
        double loss = evaluate(eval);
        for (MetricLogger l : activeLoggers()) {
            l.logEval(step, loss);
        }
        callbacks.forEach(c -> c.onEval(step, loss, this));
        return loss;
    }

    /**
     * Restores model, optimizer state, data position and randomness from {@code c}, after comparing the
     * configuration with its own (see {@link #setConfig(Map, ResumeRules)}). The optimizer keeps the options
     * it was built with, so a rerun with a lower lr trains with it; the schedule continues at the step.
     */
    public void resumeFrom(Checkpoint c, DataLoader train) throws IOException {
        if (resumeRules != null) {
            resumeRules.compare(config, c.config().get("run"), c.dir()).forEach(notices);
        }
        c.loadModelInto(model);
        c.loadOptimizerInto(optimizer);
        TrainerState s = c.state();
        train.restore(s.data());
        random.restore(s.rngSeed(), s.rngDraws());
        step = s.step();
        notices.accept("resuming from " + c.dir() + " at step " + step);
    }

    private void save(DataLoader train) throws IOException {
        if (!group().isMain()) {
            return;   // every rank holds the same state; rank 0 writes it
        }
        TrainerState s = new TrainerState(step, step, train.position(), random.seed(), random.draws());
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("trainer", options);
        all.put("run", config);
        checkpointer.save(model, optimizer, s, all);
    }

    private boolean epochLimitReached(DataLoader train) {
        return options.maxEpochs() > 0 && train.epoch() >= options.maxEpochs();
    }

    /** Closes every logger; with {@code failure} pending, their errors are attached to it instead. */
    private void closeLoggers(Throwable failure) throws IOException {
        IOException first = null;
        for (MetricLogger l : activeLoggers()) {
            try {
                l.close();
            } catch (IOException | RuntimeException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else if (first == null) {
                    first = e instanceof IOException io ? io : new IOException("closing " + l, e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** The loggers this process writes: all of them on rank 0, none on the other ranks. */
    private List<MetricLogger> activeLoggers() {
        return group().isMain() ? loggers : List.of();
    }

    /** Stops the run after the current step (it still evaluates and checkpoints at the end). */
    public void requestStop() {
        stopRequested = true;
    }

    /** The gradient communication of the current (or last) {@link #fit} so far, summed over its steps. */
    public CommTotals communication() {
        return comm;
    }

    /** Optimizer steps taken so far (restored by a resume). */
    public long step() {
        return step;
    }

    /** The run's randomness (see {@link #setRandom}). */
    public TrainingRandom random() {
        return random;
    }

    public Module model() {
        return model;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public TrainerOptions options() {
        return options;
    }
}
