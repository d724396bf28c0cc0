// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The data module reads files into ND4J arrays and needs nothing of autograd: it is not on the classpath. */
class DependenciesTest {

    @Test
    void autogradIsNotADependency() {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("spindle.autograd.Tensor"));
    }
}
