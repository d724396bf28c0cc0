// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

class CsvTableTest {
    private static final String IRIS = """
        sepal_length,sepal_width,species
        5.1,3.5,setosa

        7.0,3.2,versicolor
        "6.3", 3.3 ,virginica
        4.9,3.0,setosa
        """;

    @Test
    void readsHeaderAndTypedColumns(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("iris.csv");
        Files.writeString(f, IRIS);
        CsvTable t = CsvTable.read(f);
        assertEquals(List.of("sepal_length", "sepal_width", "species"), t.columns());
        assertEquals(4, t.rows());
        assertArrayEquals(new double[] {3.5, 3.2, 3.3, 3.0}, t.doubles("sepal_width"));
        assertEquals(List.of("setosa", "versicolor", "virginica"), t.levels("species"));
    }

    @Test
    void classificationBatchesAreFloatFeaturesAndInt64Classes() throws Exception {
        TabularDataset d = CsvTable.parse("iris.csv", IRIS).classification(List.of("sepal_length", "sepal_width"), "species");
        Batch b = d.batch(new int[] {2, 0});
        assertEquals(DataType.FLOAT, b.inputs().dataType());
        assertArrayEquals(new long[] {2, 2}, b.inputs().shape());
        assertEquals(6.3f, b.inputs().getFloat(0, 0));
        assertEquals(DataType.INT64, b.targets().dataType());
        assertArrayEquals(new long[] {2, 0}, b.targets().toLongVector());
    }

    @Test
    void regressionTargetsAreAColumnVector() throws Exception {
        Batch b = CsvTable.parse("iris.csv", IRIS).regression(List.of("sepal_width"), "sepal_length").batch(new int[] {1});
        assertArrayEquals(new long[] {1, 1}, b.targets().shape());
        assertEquals(7.0f, b.targets().getFloat(0, 0));
    }

    @Test
    void badNumberNamesFileLineColumnAndValue() throws Exception {
        CsvTable t = CsvTable.parse("iris.csv", "a,b\n1,2\n\n3,x y\n4,\n");
        var e = assertThrows(DataFileException.class, () -> t.doubles("b"));
        assertEquals("iris.csv:4: column 'b': 'x y' is not a number", e.getMessage());
        CsvTable t2 = CsvTable.parse("iris.csv", "a,b\n1,2\n4,\n");
        e = assertThrows(DataFileException.class, () -> t2.doubles("b"));
        assertEquals("iris.csv:3: column 'b': empty cell where a number is needed", e.getMessage());
    }

    @Test
    void wrongFieldCountNamesTheLine() {
        var e = assertThrows(DataFileException.class, () -> CsvTable.parse("d.csv", "a,b,c\n1,2,3\n4,5\n"));
        assertEquals("d.csv:3: 2 fields, but the header has 3 [a, b, c]", e.getMessage());
    }

    @Test
    void unknownColumnListsTheColumns() throws Exception {
        CsvTable t = CsvTable.parse("d.csv", "a,b\n1,2\n");
        var e = assertThrows(DataFileException.class, () -> t.doubles("c"));
        assertEquals("d.csv: no column 'c'; the columns are [a, b]", e.getMessage());
    }

    @Test
    void emptyFilesAndBrokenQuotingAreErrors(@TempDir Path dir) throws Exception {
        var e = assertThrows(DataFileException.class, () -> CsvTable.parse("e.csv", ""));
        assertTrue(e.getMessage().startsWith("e.csv: is empty"), e.getMessage());
        e = assertThrows(DataFileException.class, () -> CsvTable.parse("h.csv", "a,b\n"));
        assertEquals("h.csv: has a header but no rows", e.getMessage());
        e = assertThrows(DataFileException.class, () -> CsvTable.parse("q.csv", "a,b\n1,\"open\n2,3\n"));
        assertTrue(e.getMessage().startsWith("q.csv: malformed CSV"), e.getMessage());
        Files.write(dir.resolve("latin1.csv"), new byte[] {'a', '\n', 'c', 'a', 'f', (byte) 0xE9, '\n'});
        e = assertThrows(DataFileException.class, () -> CsvTable.read(dir.resolve("latin1.csv")));
        assertTrue(e.getMessage().contains("latin1.csv:2: not valid UTF-8: byte 0xE9 at byte 4 of the line"), e.getMessage());
    }
}
