package org.goldenstick.llm.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's reversible byte ↔ printable-character map: each of the 256 byte values becomes one visible
 * character so that byte-level BPE can work on strings (space becomes {@code Ġ}, newline {@code Ċ}).
 *
 * <pre>{@code
 * String s = ByteLevel.encode(" hé");   // "ĠhÃ©"
 * String t = ByteLevel.decode(s);       // " hé"
 * }</pre>
 */
public final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    /** The printable character standing for one byte. */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a mapped character stands for, or -1 if the character is not part of the map. */
    public static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** UTF-8 bytes of {@code text}, each mapped to its printable character. */
    public static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /**
     * Appends the bytes a mapped string stands for; characters outside the map (e.g. of added tokens) are
     * appended as their UTF-8 encoding.
     */
    public static void decodeInto(String mapped, java.io.ByteArrayOutputStream out) {
        for (int i = 0; i < mapped.length(); i++) {
            char c = mapped.charAt(i);
            int b = byteOf(c);
            if (b >= 0) {
                out.write(b);
            } else {
                int cp = mapped.codePointAt(i);
                if (Character.isSupplementaryCodePoint(cp)) i++;
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /** Inverse of {@link #encode}; invalid UTF-8 becomes U+FFFD. */
    public static String decode(String mapped) {
        var out = new java.io.ByteArrayOutputStream();
        decodeInto(mapped, out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
