// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class DataLoaderTest {

    /** Example i is the single value i, so a batch shows exactly which indices it holds. */
    static final class Indices implements Dataset {
        private final int n;

        Indices(int n) {
            this.n = n;
        }

        @Override
        public int size() {
            return n;
        }

        @Override
        public Batch batch(int[] indices) {
            long[] ids = Arrays.stream(indices).asLongStream().toArray();
            return new Batch(Nd4j.createFromArray(ids), Nd4j.createFromArray(ids));
        }
    }

    private static List<long[]> take(DataLoader loader, int batches) {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            out.add(loader.next().inputs().toLongVector());
        }
        return out;
    }

    private static long[] flat(List<long[]> batches) {
        return batches.stream().flatMapToLong(Arrays::stream).toArray();
    }

    @Test
    void sequentialKeepsTheLastPartialBatch() {
        DataLoader l = new DataLoader(new Indices(10), LoaderOptions.of(4));
        assertEquals(3, l.batchesPerEpoch());
        List<long[]> b = take(l, 4);
        assertArrayEquals(new long[] {8, 9}, b.get(2));
        assertArrayEquals(new long[] {0, 1, 2, 3}, b.get(3), "the next epoch starts over");
        assertEquals(1, l.epoch());
        int rest = 0;
        for (Batch batch : l.restOfEpoch()) {
            rest += batch.size();
        }
        assertEquals(6, rest, "the two batches left in epoch 1");
        assertEquals(2, l.epoch());
    }

    @Test
    void dropLastDropsTheIncompleteBatch() {
        DataLoader l = new DataLoader(new Indices(10), LoaderOptions.of(4).dropLast());
        assertEquals(2, l.batchesPerEpoch());
        assertArrayEquals(new long[] {0, 1, 2, 3}, take(l, 3).get(2));
        DataLoader none = new DataLoader(new Indices(3), LoaderOptions.of(4).dropLast());
        assertFalse(none.hasNext());
        assertThrows(NoSuchElementException.class, none::next);
    }

    @Test
    void shuffleIsASeededPermutationThatChangesEachEpoch() {
        LoaderOptions o = LoaderOptions.of(5).shuffled(7);
        long[] e0 = flat(take(new DataLoader(new Indices(20), o), 4));
        long[] again = flat(take(new DataLoader(new Indices(20), o), 4));
        assertArrayEquals(e0, again, "same seed, same order");
        assertArrayEquals(IntStream.range(0, 20).asLongStream().toArray(), Arrays.stream(e0).sorted().toArray(), "every example once per epoch");
        DataLoader l = new DataLoader(new Indices(20), o);
        take(l, 4);
        long[] e1 = flat(take(l, 4));
        assertNotEquals(Arrays.toString(e0), Arrays.toString(e1), "a new permutation each epoch");
        long[] otherSeed = flat(take(new DataLoader(new Indices(20), LoaderOptions.of(5).shuffled(8)), 4));
        assertNotEquals(Arrays.toString(e0), Arrays.toString(otherSeed));
    }

    @Test
    void shardsAreDisjointAndCoverTheEpoch() {
        Set<Long> seen = new HashSet<>();
        for (int rank = 0; rank < 3; rank++) {
            DataLoader l = new DataLoader(new Indices(12), LoaderOptions.of(2).shuffled(3).shard(rank, 3));
            assertEquals(2, l.batchesPerEpoch());
            for (long i : flat(take(l, 2))) {
                assertTrue(seen.add(i), "index " + i + " given to two ranks");
            }
        }
        assertEquals(12, seen.size());
    }

    @Test
    void unevenShardsWrapAroundOrDropTheTail() {
        // 10 examples over 4 ranks: like DistributedSampler, pad to 12 by wrapping, or drop to 8.
        LoaderOptions keep = LoaderOptions.of(3).shard(3, 4);
        assertArrayEquals(new long[] {3, 7, 1}, new DataLoader(new Indices(10), keep).next().inputs().toLongVector());
        DataLoader drop = new DataLoader(new Indices(10), LoaderOptions.of(3).dropLast().shard(3, 4));
        assertEquals(2, drop.samplesPerEpoch());
        assertEquals(0, drop.batchesPerEpoch());
    }

    @Test
    void resumesExactlyFromAPositionSavedAsJson() throws Exception {
        LoaderOptions o = LoaderOptions.of(3).shuffled(42).dropLast().shard(1, 2);
        List<long[]> straight = take(new DataLoader(new Indices(25), o), 11);

        DataLoader first = new DataLoader(new Indices(25), o);
        take(first, 6);   // 6 batches: epoch 1 after 4 per epoch, index 2
        String json = new ObjectMapper().writeValueAsString(first.position());
        assertEquals("{\"epoch\":1,\"index\":2,\"seed\":42}", json);

        DataLoader resumed = new DataLoader(new Indices(25), LoaderOptions.of(3).shuffled(999).dropLast().shard(1, 2));
        resumed.restore(new ObjectMapper().readValue(json, LoaderPosition.class));
        List<long[]> rest = take(resumed, 5);
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(straight.get(6 + i), rest.get(i), "batch " + (6 + i));
        }
        assertEquals(first.position(), LoaderPosition.fromJson(first.position().toJson()));
    }

    @Test
    void rejectsAPositionPastTheEpoch() {
        DataLoader l = new DataLoader(new Indices(10), LoaderOptions.of(4));
        var e = assertThrows(IllegalArgumentException.class, () -> l.restore(new LoaderPosition(0, 7, 0)));
        assertTrue(e.getMessage().contains("past the 3 batches of an epoch"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoaderPosition.fromJson("{\"epoch\": \"x\"}"));
        assertThrows(IllegalArgumentException.class, () -> LoaderOptions.of(2).shard(2, 2));
    }
}
