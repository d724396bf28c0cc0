// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.Safetensors;
import spindle.layers.Module;
import spindle.optim.Optimizer;

/**
 * Writes checkpoints {@code dir/step-000123/} every N steps and keeps the last few. Each one is written
 * in full into a hidden temporary directory, synced, and then renamed to its final name in one atomic
 * step, so a directory called step-* is complete unless someone copied or edited it: a process killed
 * mid-write leaves only a temporary directory named with its process id, which a later save removes once
 * that process has ended (never another live run's). A file {@code latest} (also replaced atomically)
 * names the newest one for people and scripts; {@link #latest()} trusts only the directories.
 *
 * <p>A checkpoint holds model.safetensors (the state dict under its Hugging Face keys), optimizer.safetensors
 * and optimizer.json ({@link Optimizer#stateTensors()} and {@link Optimizer#state()}), trainer_state.json
 * ({@link TrainerState}) and config.json (trainer options and the run's configuration). A {@link #trainableOnly()}
 * checkpointer, for fine-tuning a frozen base, writes trainable.safetensors (the parameters that are trained, an
 * adapter's) instead of model.safetensors: the base is not copied into every checkpoint, and a resume loads the
 * adapter into a model that already holds the base.
 */
public final class Checkpointer {
    /** Test hook: a step number at which {@link #save} stops inside its write and waits to be killed. */
    public static final String PAUSE_AT_STEP_PROPERTY = "spindle.test.checkpoint.pauseAtStep";
    /** Test hook: a file created when the paused write is waiting, so a test knows when to kill. */
    public static final String READY_FILE_PROPERTY = "spindle.test.checkpoint.readyFile";
    static final String MODEL = "model.safetensors";
    static final String TRAINABLE = "trainable.safetensors";
    static final String OPTIMIZER = "optimizer.safetensors";
    static final String OPTIMIZER_JSON = "optimizer.json";
    static final String TRAINER_STATE = "trainer_state.json";
    static final String CONFIG = "config.json";
    static final String LATEST = "latest";
    private static final Pattern NAME = Pattern.compile("step-(\\d+)");
    private static final String TEMP_PREFIX = ".tmp-";
    private static final Pattern TEMP_OWNER = Pattern.compile(Pattern.quote(TEMP_PREFIX) + ".*-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    private final long every;
    private final int keepLast;
    private final boolean trainableOnly;

    /**
     * Checkpoints in {@code dir} every {@code every} optimizer steps (0: only at the end of a run), keeping
     * the newest {@code keepLast} (0: keep all).
     */
    public Checkpointer(Path dir, long every, int keepLast) {
        if (every < 0) {
            throw new IllegalArgumentException("checkpoint.every must be >= 0 (0 = only at the end), got " + every);
        }
        if (keepLast < 0) {
            throw new IllegalArgumentException("checkpoint.keep_last must be >= 0 (0 = keep all), got " + keepLast);
        }
        this.dir = dir;
        this.every = every;
        this.keepLast = keepLast;
        this.trainableOnly = false;
    }

    private Checkpointer(Checkpointer c, boolean trainableOnly) {
        this.dir = c.dir;
        this.every = c.every;
        this.keepLast = c.keepLast;
        this.trainableOnly = trainableOnly;
    }

    /**
     * This checkpointer saving only the model's trainable parameters (trainable.safetensors), with the optimizer
     * state, which covers only them too: the checkpoints of a fine-tune hold the adapter, not the frozen base.
     */
    public Checkpointer trainableOnly() {
        return new Checkpointer(this, true);
    }

    /** True when a checkpoint is due after optimizer step {@code step}. */
    public boolean isDue(long step) {
        return every > 0 && step % every == 0;
    }

    /** The directory that holds the checkpoints. */
    public Path dir() {
        return dir;
    }

    /** The name of the checkpoint of {@code step}: "step-000123" (six digits or more). */
    public static String name(long step) {
        return String.format("step-%06d", step);
    }

    /**
     * Writes the checkpoint of {@code state.step()} atomically, points {@code latest} at it and prunes to
     * keepLast; returns its directory. {@code config} must be writable by Jackson (maps, lists, records).
     */
    public Path save(Module model, Optimizer optimizer, TrainerState state, Map<String, Object> config)
            throws IOException {
        Files.createDirectories(dir);
        removeTemporaries();
        String name = name(state.step());
        Path tmp = Files.createDirectory(temporary(name));
        if (trainableOnly) {
            Map<String, INDArray> trained = new LinkedHashMap<>();
            model.trainableParameters().forEach((key, p) -> trained.put(key, p.value()));
            Safetensors.write(tmp.resolve(TRAINABLE), trained, Map.of("format", "pt"));
        } else {
            Safetensors.write(tmp.resolve(MODEL), model.stateDict(), Map.of("format", "pt"));
        }
        pauseIfTesting(state.step());
        Safetensors.write(tmp.resolve(OPTIMIZER), optimizer.stateTensors(), Map.of("format", "pt"));
        writeSynced(tmp.resolve(OPTIMIZER_JSON), optimizer.state().toJson());
        writeSynced(tmp.resolve(CONFIG), JSON.writeValueAsString(config));
        writeSynced(tmp.resolve(TRAINER_STATE), state.toJson());   // last: its presence marks a full write
        sync(tmp);   // Safetensors.write already forced its own files to disk
        Path target = dir.resolve(name);
        if (Files.exists(target)) {   // the same step saved again: move the old one out of the way first
            Files.move(target, temporary("replaced-" + name), StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        Path pointer = temporary(LATEST);
        writeSynced(pointer, name + "\n");
        Files.move(pointer, dir.resolve(LATEST), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        sync(dir);
        prune();
        removeTemporaries();
        return target;
    }

    /** The newest complete checkpoint, or empty when there is none. */
    public Optional<Checkpoint> latest() throws IOException {
        List<Path> all = complete();
        return all.isEmpty() ? Optional.empty() : Optional.of(Checkpoint.open(all.get(all.size() - 1)));
    }

    /**
     * {@link #latest()}, telling {@code notices} about each step-* directory that lacks trainer_state.json (and
     * so is skipped, and replaced if a later save reaches its step), and which checkpoint is used instead.
     */
    public Optional<Checkpoint> latest(Consumer<String> notices) throws IOException {
        Optional<Checkpoint> found = latest();
        for (Path bad : incomplete()) {
            boolean newest = found.map(c -> stepOf(bad) > c.step()).orElse(true);
            String instead = !newest ? "" : found.map(c -> "; resuming from the previous complete one, " + c.dir())
                .orElse("; there is no complete one, so the run starts at step 0");
            notices.accept("checkpoint " + bad + " is incomplete (it has no " + TRAINER_STATE + ") and is skipped"
                + instead + "; a save of its step replaces it");
        }
        return found;
    }

    /** The complete checkpoint directories, oldest first (by step number). */
    public List<Path> complete() throws IOException {
        return checkpoints(true);
    }

    /** Directories named step-* without a trainer_state.json (copied or edited by hand), oldest first. */
    public List<Path> incomplete() throws IOException {
        return checkpoints(false);
    }

    /** Deletes every checkpoint, complete or not, and {@code latest}; returns how many step-* directories went. */
    public int deleteAll() throws IOException {
        List<Path> all = new ArrayList<>(complete());
        all.addAll(incomplete());
        for (Path p : all) {
            Path doomed = temporary("deleted-" + p.getFileName());
            Files.move(p, doomed, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(doomed);
        }
        Files.deleteIfExists(dir.resolve(LATEST));
        return all.size();
    }

    private List<Path> checkpoints(boolean complete) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                .filter(p -> Files.isRegularFile(p.resolve(TRAINER_STATE)) == complete)
                .sorted(Comparator.comparingLong(Checkpointer::stepOf))
                .toList();
        }
    }

    private void prune() throws IOException {
        if (keepLast == 0) {
            return;
        }
        List<Path> all = complete();
        for (Path old : all.subList(0, Math.max(0, all.size() - keepLast))) {
            // Renamed first so that a crash mid-delete never leaves a partial step-* directory.
            Path doomed = temporary("pruned-" + old.getFileName());
            Files.move(old, doomed, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(doomed);
        }
    }

    /** A temporary name in {@code dir} that ends with this process's id, e.g. ".tmp-step-000015-4242". */
    private Path temporary(String what) {
        return dir.resolve(TEMP_PREFIX + what + "-" + ProcessHandle.current().pid());
    }

    /**
     * Deletes what this process's interrupted saves and prunes left behind, and what ended processes left
     * (a kill -9); the temporaries of a run still going in the same directory are not touched.
     */
    private void removeTemporaries() throws IOException {
        List<Path> temps;
        try (Stream<Path> entries = Files.list(dir)) {
            temps = entries.filter(p -> ownerHasEnded(p.getFileName().toString())).toList();
        }
        for (Path t : temps) {
            deleteTree(t);
        }
    }

    /** True for a temporary name whose trailing process id is this process or one that no longer runs. */
    private static boolean ownerHasEnded(String name) {
        Matcher m = TEMP_OWNER.matcher(name);
        if (!m.matches()) {
            return false;
        }
        long pid = Long.parseLong(m.group(1));
        return pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
    }

    private static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = new ArrayList<>(walk.toList());
        }
        paths.sort(Comparator.reverseOrder());   // children before their directory
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }

    private static void writeSynced(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        sync(file);
    }

    /** fsync of a file or directory, so that the rename that publishes it is not reordered before the data. */
    private static void sync(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** The kill-during-write test sets these properties in a child JVM; in normal runs they are absent. */
    private static void pauseIfTesting(long step) throws IOException {
        String at = System.getProperty(PAUSE_AT_STEP_PROPERTY);
        if (at == null || Long.parseLong(at) != step) {
            return;
        }
        String ready = System.getProperty(READY_FILE_PROPERTY);
        if (ready != null) {
            Files.writeString(Path.of(ready), Long.toString(step));
        }
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("checkpoint write interrupted at step " + step, e);
        }
    }
}
