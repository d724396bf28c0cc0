// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The weights of a model directory as Hugging Face lays them out: one {@code model.safetensors}, or shards
 * {@code model-00001-of-0000N.safetensors} named by {@link ShardIndex#FILE}. Reading checks that the index and
 * the shards agree (every shard exists, every tensor is in exactly the shard the index names); writing splits
 * as {@code save_pretrained} does.
 */
public final class WeightFiles {
    /** The single-file checkpoint's name. */
    public static final String SINGLE = "model.safetensors";
    /** save_pretrained's default max_shard_size, "5GB". */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;
    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private WeightFiles() {}

    /** True when {@code dir} holds model.safetensors or a shard index. */
    public static boolean exist(Path dir) {
        return Files.isRegularFile(dir.resolve(SINGLE)) || Files.isRegularFile(dir.resolve(ShardIndex.FILE));
    }

    /**
     * The weight files of {@code dir} (model.safetensors alone, or the index's shards in order), after checking that
     * the index and the shards' headers agree. Errors name the directory, the shard and the tensor.
     */
    public static List<Path> files(Path dir) throws IOException {
        Path single = dir.resolve(SINGLE);
        Path indexFile = dir.resolve(ShardIndex.FILE);
        boolean hasSingle = Files.isRegularFile(single);
        boolean hasIndex = Files.isRegularFile(indexFile);
        if (hasSingle == hasIndex) {
            throw new IllegalArgumentException("model directory " + dir + (hasSingle
                ? " has both " + SINGLE + " and " + ShardIndex.FILE + "; remove the stale one"
                : " has neither " + SINGLE + " nor " + ShardIndex.FILE));
        }
        if (hasSingle) {
            return List.of(single);
        }
        ShardIndex index = ShardIndex.read(indexFile);
        Map<String, String> foundIn = new HashMap<>();
        List<Path> files = new ArrayList<>();
        for (String shard : index.shards()) {
            Path file = dir.resolve(shard);
            if (!Files.isRegularFile(file)) {
                List<String> names = index.tensorsOf(shard);
                throw ShardIndex.bad(indexFile, "names shard " + shard + " (for tensor " + names.get(0)
                    + (names.size() > 1 ? " and " + (names.size() - 1) + " more" : "") + ") but " + file + " does not exist");
            }
            for (Safetensors.TensorInfo t : Safetensors.tensors(file)) {
                String other = foundIn.putIfAbsent(t.name(), shard);
                if (other != null) {
                    throw ShardIndex.bad(indexFile, "has tensor " + t.name() + " in two shards, " + other + " and " + shard);
                }
                String listed = index.weightMap().get(t.name());
                if (!shard.equals(listed)) {
                    throw ShardIndex.bad(indexFile, listed == null
                        ? "does not list tensor " + t.name() + ", which shard " + shard + " holds"
                        : "maps tensor " + t.name() + " to " + listed + " but shard " + shard + " holds it");
                }
            }
            files.add(file);
        }
        for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
            if (!foundIn.containsKey(e.getKey())) {
                throw ShardIndex.bad(indexFile, "maps tensor " + e.getKey() + " to shard " + e.getValue()
                    + ", which does not hold it");
            }
        }
        return files;
    }

    /** Every tensor of {@code dir}'s weights, checked as {@link #files} does, in file order; 16-bit floats widened. */
    public static Map<String, INDArray> read(Path dir) throws IOException {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (Path file : files(dir)) {
            out.putAll(Safetensors.read(file));
        }
        return out;
    }

    /** As {@link #read}, each tensor in the dtype it is stored in ({@link Safetensors#readStored}). */
    public static Map<String, INDArray> readStored(Path dir) throws IOException {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (Path file : files(dir)) {
            out.putAll(Safetensors.readStored(file));
        }
        return out;
    }

    /**
     * Writes {@code tensors} into {@code dir} as save_pretrained does: in order, a new shard whenever the next tensor
     * would take the current one past {@code maxShardBytes} (a larger tensor gets a shard of its own); one shard is
     * model.safetensors, several are model-0000i-of-0000n.safetensors and the index. Weight files of an earlier
     * save that the new one does not use are removed.
     */
    public static void write(Path dir, Map<String, INDArray> tensors, Map<String, String> metadata, long maxShardBytes)
        throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("max shard size must be positive but is " + maxShardBytes + " bytes");
        }
        List<Map<String, INDArray>> shards = split(tensors, maxShardBytes);
        Files.createDirectories(dir);
        List<String> written = new ArrayList<>();
        if (shards.size() == 1) {
            Safetensors.write(dir.resolve(SINGLE), tensors, metadata);
            written.add(SINGLE);
        } else {
            Map<String, String> weightMap = new LinkedHashMap<>();
            long total = 0;
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Safetensors.write(dir.resolve(name), shards.get(i), metadata);
                written.add(name);
                for (Map.Entry<String, INDArray> t : shards.get(i).entrySet()) {
                    weightMap.put(t.getKey(), name);
                    total += bytes(t.getValue());
                }
            }
            Path tmp = dir.resolve("." + ShardIndex.FILE + "." + ProcessHandle.current().pid() + ".tmp");
            Files.writeString(tmp, new ShardIndex(weightMap, total).toJson(), StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(ShardIndex.FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            written.add(ShardIndex.FILE);
        }
        removeStale(dir, written);
    }

    static List<Map<String, INDArray>> split(Map<String, INDArray> tensors, long maxShardBytes) {
        List<Map<String, INDArray>> shards = new ArrayList<>();
        Map<String, INDArray> current = new LinkedHashMap<>();
        long size = 0;
        for (Map.Entry<String, INDArray> t : tensors.entrySet()) {
            long bytes = bytes(t.getValue());
            if (!current.isEmpty() && size + bytes > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                size = 0;
            }
            current.put(t.getKey(), t.getValue());
            size += bytes;
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    private static long bytes(INDArray a) {
        return a.length() * SafetensorsCodec.width(SafetensorsCodec.dtypeName("", a.dataType()));
    }

    private static void removeStale(Path dir, List<String> written) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                boolean weights = name.equals(SINGLE) || name.equals(ShardIndex.FILE) || SHARD_NAME.matcher(name).matches();
                if (weights && !written.contains(name)) {
                    Files.delete(f);
                }
            }
        }
    }
}
