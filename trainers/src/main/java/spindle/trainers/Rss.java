// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import org.bytedeco.javacpp.Pointer;

/** Resident set size of this process, which includes ND4J's off-heap arrays (the JVM heap alone does not). */
final class Rss {
    private Rss() {}

    /** Current RSS in bytes, as JavaCPP reads it from the OS (0 where it cannot). */
    static long currentBytes() {
        return Pointer.physicalBytes();
    }
}
