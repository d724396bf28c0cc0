// SPDX-License-Identifier: Apache-2.0
/**
 * Recipe configuration: YAML files (torchtune-style, nested sections) whose every key can be overridden as
 * {@code key=value} on the command line, checked against the recipe's declared keys, types and defaults.
 */
package spindle.recipes.config;
