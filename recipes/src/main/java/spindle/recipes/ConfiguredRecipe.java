// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.util.List;
import spindle.recipes.config.ConfigKey;

/** A recipe driven by config keys; {@code --help} lists them with their defaults. */
interface ConfiguredRecipe {
    List<ConfigKey> keys();
}
