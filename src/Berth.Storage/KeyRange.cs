namespace Berth.Storage;

/// <summary>Prefix arithmetic shared by backends (etcd's <c>GetPrefixRangeEnd</c>).</summary>
internal static class KeyRange
{
    /// <summary>The smallest string greater than every string starting with <paramref name="prefix"/>
    /// in code-point (= UTF-8 byte) order, or <see langword="null"/> when there is none that can be
    /// written as a UTF-16 string (empty prefix, or one ending in a surrogate or U+FFFF).</summary>
    public static string? PrefixEnd(string prefix)
    {
        if (prefix.Length == 0)
        {
            return null;
        }

        char last = prefix[^1];
        // Incrementing a surrogate would not give the next code point; such prefixes fall back to an
        // open range plus a StartsWith check.
        if (char.IsSurrogate(last) || last == char.MaxValue || (last + 1 >= 0xD800 && last + 1 <= 0xDFFF))
        {
            return null;
        }

        return string.Create(prefix.Length, prefix, static (span, p) =>
        {
            p.AsSpan().CopyTo(span);
            span[^1]++;
        });
    }

    public static bool Matches(string key, string prefix) => key.StartsWith(prefix, StringComparison.Ordinal);
}
