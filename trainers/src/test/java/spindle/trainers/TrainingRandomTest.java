// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class TrainingRandomTest {

    @Test
    void replicaThreadsDrawingAtOnceLoseNoDrawAndShareNoGenerator() throws InterruptedException {
        TrainingRandom random = new TrainingRandom(7);
        Set<Long> firstValues = ConcurrentHashMap.newKeySet();
        int perThread = 20_000;
        CountDownLatch start = new CountDownLatch(1);
        Runnable draw = () -> {
            try {
                start.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            for (int i = 0; i < perThread; i++) {
                firstValues.add(random.next().nextLong());
            }
        };
        Thread a = new Thread(draw);
        Thread b = new Thread(draw);
        a.start();
        b.start();
        start.countDown();
        a.join();
        b.join();
        assertEquals(2L * perThread, random.draws());
        assertEquals(2 * perThread, firstValues.size(), "two draws gave the same generator");
    }

    @Test
    void aRestoredSourceContinuesWithTheSameGenerators() {
        TrainingRandom first = new TrainingRandom(3);
        first.next();
        long expected = first.next().nextLong();
        assertEquals(expected, new TrainingRandom(3, 1).next().nextLong());
    }
}
