using System.Security.Cryptography;

namespace Berth.Client;

/// <summary>
/// k3s "secure" tokens, <c>K10&lt;sha256 hex of the CA&gt;::&lt;secret&gt;</c>: the hash lets a joining node trust the
/// server's CA without being given it (k3s pkg/clientaccess/token.go). A plain token carries no pin.
/// </summary>
public static class JoinToken
{
    private const string Prefix = "K10";
    private const string Separator = "::";
    private const int HashHexLength = 64;

    /// <summary>Splits a token into its secret and optional CA pin (lower-case hex); false for an empty secret.</summary>
    public static bool TryParse(string token, out string secret, out string? caSha256Hex)
    {
        ArgumentNullException.ThrowIfNull(token);
        secret = token;
        caSha256Hex = null;
        if (token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var separator = token.IndexOf(Separator, StringComparison.Ordinal);
            if (separator < 0)
            {
                return false;
            }
            var hash = token.AsSpan(Prefix.Length, separator - Prefix.Length);
            if (hash.Length != HashHexLength || !IsHex(hash))
            {
                return false;
            }
            caSha256Hex = hash.ToString().ToLowerInvariant();
            secret = token[(separator + Separator.Length)..];
        }

        return secret.Length != 0;
    }

    public static string Format(string caSha256Hex, string secret)
    {
        ArgumentNullException.ThrowIfNull(caSha256Hex);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (caSha256Hex.Length != HashHexLength || !IsHex(caSha256Hex))
        {
            throw new ArgumentException("expected 64 hex digits (a SHA-256 hash)", nameof(caSha256Hex));
        }
        return Prefix + caSha256Hex.ToLowerInvariant() + Separator + secret;
    }

    /// <summary>The pin for a CA certificate: SHA-256 of its DER encoding, lower-case hex.</summary>
    public static string CaHash(ReadOnlySpan<byte> caDer) => Convert.ToHexStringLower(SHA256.HashData(caDer));

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
