// SPDX-License-Identifier: Apache-2.0
/**
 * Tooling for Spindle's own tests, kept out of the library jars: {@link spindle.testing.PyTorch} runs the
 * Python scripts that compute PyTorch's reference numbers, and decides whether a test without them skips or fails.
 */
package spindle.testing;
