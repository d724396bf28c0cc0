// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import spindle.recipes.config.ConfigKey;
import spindle.recipes.config.RecipeConfig;

/** The arguments every configured recipe takes: {@code --config FILE} and {@code key=value} overrides. */
final class RecipeArgs {
    @Option(names = "--config", description = "YAML config file (see recipes/configs/); defaults apply to keys it omits.")
    Path config;

    @Parameters(paramLabel = "key=value", description = "Overrides of config keys, e.g. train.steps=100.")
    List<String> overrides = new ArrayList<>();

    RecipeConfig load(List<ConfigKey> keys) throws IOException {
        return RecipeConfig.load(keys, config, overrides);
    }
}
