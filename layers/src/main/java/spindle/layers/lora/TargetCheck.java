// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import spindle.layers.LinearFactory;
import spindle.layers.Module;
import spindle.layers.moe.Router;

/**
 * The errors PEFT gives for target_modules that cannot be honoured, checked on a built model: a target that
 * names a module which is not a linear (the MoE router above all), and targets that match no module.
 */
final class TargetCheck {
    private static final int EXAMPLES = 6;

    private TargetCheck() {}

    /**
     * @param modules  the model's modules by full name
     * @param linears  the full names of every projection the factory built
     * @param adapters the adapted ones
     */
    static void check(LoraConfig config, Map<String, Module> modules, List<String> linears,
                      Map<String, LoraLinear> adapters) {
        Set<String> linearSet = new LinkedHashSet<>(linears);
        List<String> names = new ArrayList<>();
        modules.keySet().forEach(n -> {
            if (!n.isEmpty() && !insideAdapter(n, adapters)) {
                names.add(n);
            }
        });
        TargetModules targets = config.targetModules();
        if (!targets.isAllLinear()) {
            for (String name : names) {
                if (!linearSet.contains(name) && targets.matches(name) && !config.excludeModules().matches(name)) {
                    throw new IllegalArgumentException(notALinear(targets, name, modules.get(name)));
                }
            }
        }
        List<String> unmatched = unmatched(targets, names);
        if (!unmatched.isEmpty()) {
            throw new IllegalArgumentException("Target modules " + unmatched + " not found in the base model;"
                + " its linears are " + examples(linears));
        }
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + targets + " adapted no module: every linear it"
                + " matches is excluded by exclude_modules " + config.excludeModules() + " or outside"
                + " layers_to_transform " + config.layersToTransform());
        }
    }

    private static String notALinear(TargetModules targets, String name, Module module) {
        if (module instanceof Router) {
            return "target_modules " + targets + " matches " + name + ", the MoE router: in DeepSeek-V3 it is a"
                + " bare weight parameter of the gate, not a linear, so it cannot take a LoRA adapter (the experts'"
                + " linears are gate_proj, up_proj and down_proj)";
        }
        return "target_modules " + targets + " matches " + name + ", a " + module.getClass().getSimpleName()
            + ", not a linear: LoRA adapts linears only";
    }

    /** The list entries no module name matches, or the whole regex when it matches none. */
    private static List<String> unmatched(TargetModules targets, List<String> names) {
        if (targets.isAllLinear()) {
            return List.of();
        }
        if (targets.isRegex()) {
            return names.stream().anyMatch(targets::matches) ? List.of() : List.of(targets.toString());
        }
        List<String> out = new ArrayList<>();
        for (String entry : targets.entries()) {
            if (names.stream().noneMatch(n -> TargetModules.entryMatches(entry, n))) {
                out.add(entry);
            }
        }
        return out;
    }

    /** The distinct last segments of the linears and a few full names: enough to fix a target list. */
    private static String examples(List<String> linears) {
        Set<String> segments = new LinkedHashSet<>();
        linears.forEach(n -> segments.add(LinearFactory.lastSegment(n)));
        List<String> full = linears.subList(0, Math.min(EXAMPLES, linears.size()));
        return segments + " (full names such as " + String.join(", ", full) + ")";
    }

    /** An adapter's own lora_A / lora_B children are not modules of the base model. */
    private static boolean insideAdapter(String name, Map<String, LoraLinear> adapters) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && adapters.containsKey(name.substring(0, dot));
    }
}
