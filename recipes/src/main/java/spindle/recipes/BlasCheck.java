// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Checks that the BLAS library behind {@link Nd4j#gemm} multiplies right, in float32 and float64, against a plain
 * Java product. {@code ./spindle} runs it before it names an OpenBLAS core type (OPENBLAS_CORETYPE): a core type
 * whose kernels compute wrong products on this CPU is not used. As a program it exits 0 when every product is
 * right, and {@value #WRONG} with one line naming the first wrong product otherwise.
 */
public final class BlasCheck {
    /** The exit code for a wrong product; the launcher reads it as "rejected". */
    public static final int WRONG = 3;

    /** The products the layers compute: op(a) [m, k] times op(b) [k, n], added to c when {@code accumulate}. */
    record Case(int m, int k, int n, boolean transposeA, boolean transposeB, boolean accumulate) {
        @Override
        public String toString() {
            return m + "x" + k + "x" + n + (transposeA ? " aT" : "") + (transposeB ? " bT" : "") + (accumulate ? " c+=" : "");
        }
    }

    /**
     * The linear layer's forward (b transposed) and its two gradients (a transposed, added to the gradient), and
     * the sizes where float64 went wrong with OPENBLAS_CORETYPE=Cooperlake (errors of 13 on values of order 10).
     */
    static final List<Case> CASES = List.of(new Case(256, 688, 256, false, false, false),
        new Case(128, 48, 256, false, false, false), new Case(96, 200, 72, false, true, false),
        new Case(72, 130, 96, true, false, true), new Case(33, 17, 65, false, false, false));

    /** How a product is computed: into {@code c} (added to it when beta is 1), as {@link Nd4j#gemm} does. */
    @FunctionalInterface
    interface Gemm {
        void multiply(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB, double beta);
    }

    static final Gemm ND4J = (a, b, c, ta, tb, beta) -> Nd4j.gemm(a, b, c, ta, tb, 1.0, beta);

    private BlasCheck() {}

    public static void main(String[] args) {
        Optional<String> wrong = firstWrong(ND4J);
        wrong.ifPresent(System.out::println);
        System.exit(wrong.isPresent() ? WRONG : 0);
    }

    /** The first product of {@link #CASES}, float32 then float64, that {@code gemm} gets wrong, described. */
    static Optional<String> firstWrong(Gemm gemm) {
        for (DataType dtype : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            for (Case c : CASES) {
                Optional<String> wrong = check(gemm, dtype, c);
                if (wrong.isPresent()) {
                    return wrong;
                }
            }
        }
        return Optional.empty();
    }

    /**
     * One product against the reference. Any summation order keeps each element within k·u·Σ|a·b| of the exact
     * value (u the unit roundoff); twice that, plus a rounding for c, allows for the reference's own error. A
     * wrong kernel misses by orders of magnitude more, and NaN fails the comparison.
     */
    static Optional<String> check(Gemm gemm, DataType dtype, Case c) {
        SplittableRandom random = new SplittableRandom(c.m() * 31L + c.k() * 17L + c.n());
        double[][] a = values(random, c.m(), c.k(), c.transposeA(), dtype);
        double[][] b = values(random, c.k(), c.n(), c.transposeB(), dtype);
        double[][] start = c.accumulate() ? values(random, c.m(), c.n(), false, dtype) : new double[c.m()][c.n()];
        INDArray out = Nd4j.createFromArray(start).castTo(dtype);
        gemm.multiply(Nd4j.createFromArray(a).castTo(dtype), Nd4j.createFromArray(b).castTo(dtype), out,
            c.transposeA(), c.transposeB(), c.accumulate() ? 1.0 : 0.0);
        double[][] got = out.castTo(DataType.DOUBLE).toDoubleMatrix();
        double unit = dtype == DataType.FLOAT ? 0x1p-24 : 0x1p-53;
        double tolerance = 2 * (c.k() + 2) * unit;
        double[][] opA = c.transposeA() ? transpose(a) : a;
        double[][] opB = c.transposeB() ? transpose(b) : b;
        for (int i = 0; i < c.m(); i++) {
            double[] exact = start[i].clone();
            double[] scale = new double[c.n()];
            for (int j = 0; j < c.n(); j++) {
                scale[j] = Math.abs(exact[j]);
            }
            for (int p = 0; p < c.k(); p++) {   // row i of op(a)·op(b), one row of op(b) at a time
                double x = opA[i][p];
                double[] row = opB[p];
                for (int j = 0; j < c.n(); j++) {
                    exact[j] += x * row[j];
                    scale[j] += Math.abs(x * row[j]);
                }
            }
            for (int j = 0; j < c.n(); j++) {
                double err = Math.abs(got[i][j] - exact[j]);
                if (!(err <= tolerance * scale[j])) {
                    return Optional.of(String.format(Locale.ROOT, "%s %s: element [%d, %d] is %.6g, not %.6g (error %.3g,"
                        + " tolerance %.3g)", dtype == DataType.FLOAT ? "sgemm" : "dgemm", c, i, j, got[i][j], exact[j],
                        err, tolerance * scale[j]));
                }
            }
        }
        return Optional.empty();
    }

    /** A [rows, cols] matrix of values in [-1, 1) exact in {@code dtype}, stored [cols, rows] when transposed. */
    private static double[][] values(SplittableRandom random, int rows, int cols, boolean transposed, DataType dtype) {
        double[][] v = transposed ? new double[cols][rows] : new double[rows][cols];
        for (double[] row : v) {
            for (int j = 0; j < row.length; j++) {
                double x = random.nextDouble(-1, 1);
                row[j] = dtype == DataType.FLOAT ? (float) x : x;
            }
        }
        return v;
    }

    private static double[][] transpose(double[][] x) {
        double[][] t = new double[x[0].length][x.length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                t[j][i] = x[i][j];
            }
        }
        return t;
    }
}
