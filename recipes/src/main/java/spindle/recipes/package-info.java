// SPDX-License-Identifier: Apache-2.0
/**
 * The {@code spindle} command line: one picocli program whose subcommands are thin recipes over the
 * library (read options, build library objects, run, report).
 */
package spindle.recipes;
