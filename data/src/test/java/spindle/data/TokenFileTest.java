// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

class TokenFileTest {

    @Test
    void uint16FileIsRawLittleEndianLikeNanoGpt(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("train.bin");
        TokenFile.write(f, new int[] {1, 258, 65535}, TokenDtype.UINT16);
        byte[] raw = Files.readAllBytes(f);
        assertArrayEquals(new byte[] {1, 0, 2, 1, (byte) 0xFF, (byte) 0xFF}, raw);
        TokenFile t = TokenFile.open(f, TokenDtype.UINT16);
        assertEquals(3, t.size());
        assertEquals(65535, t.get(2));
    }

    @Test
    void int32FileHoldsLargeIds(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("big.bin");
        TokenFile.write(f, new int[] {0, 70_000, 128_255}, TokenDtype.INT32);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(70_000, b.getInt(4));
        int[] out = new int[2];
        TokenFile.open(f, TokenDtype.INT32).read(1, out);
        assertArrayEquals(new int[] {70_000, 128_255}, out);
    }

    @Test
    void dtypeFollowsTheVocabulary() {
        assertEquals(TokenDtype.UINT16, TokenDtype.forVocab(50_257));
        assertEquals(TokenDtype.UINT16, TokenDtype.forVocab(65_536));
        assertEquals(TokenDtype.INT32, TokenDtype.forVocab(128_256));
    }

    @Test
    void idTooLargeForUint16IsAnErrorNamingTheIndex(@TempDir Path dir) {
        var e = assertThrows(IllegalArgumentException.class,
            () -> TokenFile.write(dir.resolve("x.bin"), new int[] {3, 70_000}, TokenDtype.UINT16));
        assertTrue(e.getMessage().contains("token 70000 at index 1 does not fit UINT16"), e.getMessage());
    }

    @Test
    void emptyOrTruncatedFilesAreErrorsNamingTheFile(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("empty.bin"), new byte[0]);
        var e = assertThrows(DataFileException.class, () -> TokenFile.open(dir.resolve("empty.bin"), TokenDtype.UINT16));
        assertTrue(e.getMessage().contains("empty.bin: has no tokens"), e.getMessage());
        Files.write(dir.resolve("odd.bin"), new byte[6]);
        e = assertThrows(DataFileException.class, () -> TokenFile.open(dir.resolve("odd.bin"), TokenDtype.INT32));
        assertTrue(e.getMessage().contains("odd.bin: is 6 bytes, not a whole number of INT32 tokens"), e.getMessage());
    }

    @Test
    void windowsAreShiftedByOneAndInt64(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.bin");
        TokenFile.write(f, IntStream.range(0, 10).toArray(), TokenDtype.UINT16);
        TokenWindows w = TokenFile.open(f, TokenDtype.UINT16).windows(3);
        assertEquals(3, w.size(), "(10 - 1) / 3 windows of 3 + 1 tokens");
        Batch b = w.batch(new int[] {2, 0});
        assertEquals(DataType.INT64, b.inputs().dataType());
        assertArrayEquals(new long[] {2, 3}, b.inputs().shape());
        assertArrayEquals(new long[] {6, 7, 8, 0, 1, 2}, b.inputs().ravel().toLongVector());
        assertArrayEquals(new long[] {7, 8, 9, 1, 2, 3}, b.targets().ravel().toLongVector());
    }

    @Test
    void slicesShareTheMappingForTrainValSplits(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("t.bin");
        TokenFile.write(f, IntStream.range(100, 200).toArray(), TokenDtype.INT32);
        TokenFile all = TokenFile.open(f, TokenDtype.INT32);
        TokenFile val = all.slice(90, 100);
        assertEquals(10, val.size());
        assertEquals(190, val.get(0));
        assertThrows(IndexOutOfBoundsException.class, () -> val.get(10));
        var e = assertThrows(IllegalArgumentException.class, () -> val.windows(10));
        assertTrue(e.getMessage().contains("has 10 tokens, fewer than seqLen + 1 = 11"), e.getMessage());
    }
}
