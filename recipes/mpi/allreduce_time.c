/* SPDX-License-Identifier: Apache-2.0
 *
 * The bare MPI_Allreduce that a training step's gradient sum is compared with: sums FLOATS floats in place over
 * the ranks ROUNDS times (after 3 unmeasured ones), each after a barrier, and rank 0 prints the median and the
 * minimum milliseconds of one call. Built and run by measure-overhead.sh:
 *   mpicc -O2 -o allreduce_time allreduce_time.c && mpirun -np 2 ./allreduce_time FLOATS [ROUNDS]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: allreduce_time FLOATS [ROUNDS]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    long floats = atol(argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    float *buffer = malloc(sizeof(float) * floats);
    double *ms = malloc(sizeof(double) * rounds);
    for (long i = 0; i < floats; i++) {
        buffer[i] = (float) (i % 1000) * 1e-3f;
    }
    for (int r = -3; r < rounds; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int) floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (r >= 0) {
            ms[r] = (MPI_Wtime() - t) * 1e3;
        }
    }
    qsort(ms, rounds, sizeof(double), by_value);
    if (rank == 0) {
        printf("{\"bare_allreduce_floats\": %ld, \"mb\": %.3f, \"world_size\": %d, \"median_ms\": %.2f, \"min_ms\": %.2f}\n",
               floats, floats * 4 / 1e6, size, ms[rounds / 2], ms[0]);
    }
    free(buffer);
    free(ms);
    MPI_Finalize();
    return 0;
}
