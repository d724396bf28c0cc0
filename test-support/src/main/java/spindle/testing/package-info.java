// SPDX-License-Identifier: Apache-2.0
/**
 * Tooling for Spindle's own tests, kept out of the library jars: {@link spindle.testing.PyTorch} runs the
 * Python scripts that compute PyTorch's reference numbers, {@link spindle.testing.MpiJob} starts a test's main class
 * under mpirun; each decides whether a test without its tool skips or fails.
 */
package spindle.testing;
