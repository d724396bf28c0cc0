// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * A CSV file with a header line, read with commons-csv (RFC 4180 quoting, values trimmed, blank lines
 * skipped). Columns are typed when used: a value that is not a number where one is needed is an error
 * naming the file, line, column and value.
 */
public final class CsvTable {
    private final String source;
    private final List<String> columns;
    private final List<String[]> rows = new ArrayList<>();
    private final List<Long> lines = new ArrayList<>();

    private CsvTable(String source, List<String> columns) {
        this.source = source;
        this.columns = List.copyOf(columns);
    }

    /** Reads a UTF-8 CSV file whose first line names the columns. */
    public static CsvTable read(Path file) throws IOException {
        return parse(file.toString(), TextFiles.read(file));
    }

    /** Parses CSV text that came from {@code source} (named in errors). */
    public static CsvTable parse(String source, String text) throws DataFileException {
        if (text.isBlank()) {
            throw new DataFileException(source, 0, "is empty (expected a header line naming the columns)");
        }
        CSVFormat format = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).setTrim(true)
            .setAllowMissingColumnNames(false).build();
        try (CSVParser parser = CSVParser.parse(text, format)) {
            CsvTable table = new CsvTable(source, parser.getHeaderNames());
            long line = 1;
            int offset = 0;
            for (Iterator<CSVRecord> it = parser.iterator(); it.hasNext(); ) {
                CSVRecord r = it.next();
                int at = (int) r.getCharacterPosition();
                for (; offset < at; offset++) {   // records come in order: count newlines once
                    line += text.charAt(offset) == '\n' ? 1 : 0;
                }
                for (; offset < text.length() && (text.charAt(offset) == '\n' || text.charAt(offset) == '\r'); offset++) {
                    line += text.charAt(offset) == '\n' ? 1 : 0;   // skipped blank lines before the record
                }
                table.add(r, line);
            }
            if (table.rows.isEmpty()) {
                throw new DataFileException(source, 0, "has a header but no rows");
            }
            return table;
        } catch (IllegalArgumentException | IllegalStateException | UncheckedIOException | IOException e) {
            if (e instanceof DataFileException d) {
                throw d;
            }
            throw new DataFileException(source, 0, "malformed CSV: " + e.getMessage());
        }
    }

    private void add(CSVRecord r, long line) throws DataFileException {
        if (r.size() != columns.size()) {
            throw new DataFileException(source, line, r.size() + " fields, but the header has " + columns.size() + " " + columns);
        }
        rows.add(r.values());
        lines.add(line);
    }

    /** Column names in file order. */
    public List<String> columns() {
        return columns;
    }

    /** Number of data rows (the header excluded). */
    public int rows() {
        return rows.size();
    }

    /** Index of {@code column}; an error listing the columns when it is absent. */
    public int columnIndex(String column) throws DataFileException {
        int c = columns.indexOf(column);
        if (c < 0) {
            throw new DataFileException(source, 0, "no column '" + column + "'; the columns are " + columns);
        }
        return c;
    }

    /** The values of {@code column} as text. */
    public String[] strings(String column) throws DataFileException {
        int c = columnIndex(column);
        return rows.stream().map(r -> r[c]).toArray(String[]::new);
    }

    /** The values of {@code column} as numbers; an empty or non-numeric cell is an error naming line and column. */
    public double[] doubles(String column) throws DataFileException {
        int c = columnIndex(column);
        double[] out = new double[rows.size()];
        for (int i = 0; i < out.length; i++) {
            String v = rows.get(i)[c];
            try {
                out[i] = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new DataFileException(source, lines.get(i), "column '" + column + "': "
                    + (v.isEmpty() ? "empty cell where a number is needed" : "'" + v + "' is not a number"));
            }
        }
        return out;
    }

    /** The sorted distinct values of {@code column}: the class names, whose index is the class id. */
    public List<String> levels(String column) throws DataFileException {
        return List.copyOf(new TreeSet<>(List.of(strings(column))));
    }

    /** Features FLOAT [N, F] and a numeric target FLOAT [N, 1], for regression. */
    public TabularDataset regression(List<String> features, String target) throws DataFileException {
        return new TabularDataset(featureMatrix(features), doubles(target), List.of());
    }

    /** Features FLOAT [N, F] and class ids INT64 [N] of the sorted distinct labels, for classification. */
    public TabularDataset classification(List<String> features, String label) throws DataFileException {
        List<String> classes = levels(label);
        String[] raw = strings(label);
        double[] ids = new double[raw.length];
        for (int i = 0; i < raw.length; i++) {
            ids[i] = classes.indexOf(raw[i]);
        }
        return new TabularDataset(featureMatrix(features), ids, classes);
    }

    private float[][] featureMatrix(List<String> features) throws DataFileException {
        if (features.isEmpty()) {
            throw new IllegalArgumentException("name at least one feature column; the columns are " + columns);
        }
        float[][] x = new float[rows.size()][features.size()];
        for (int f = 0; f < features.size(); f++) {
            double[] col = doubles(features.get(f));
            for (int i = 0; i < col.length; i++) {
                x[i][f] = (float) col[i];
            }
        }
        return x;
    }
}
