// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

/**
 * The backward half of an op, written as a lambda right under its forward: given the gradient of the
 * op's output ({@link Grads#out()}), it adds the gradient of each input that needs one.
 */
@FunctionalInterface
public interface Backward {
    void apply(Grads g);
}
