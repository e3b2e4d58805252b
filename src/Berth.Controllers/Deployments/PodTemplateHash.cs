using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Controllers.Deployments;

/// <summary>
/// The <c>pod-template-hash</c> label value (upstream <c>controller.ComputeHash</c>): FNV-32a over the template, then
/// the collision count, printed in decimal and spelled with <c>rand.SafeEncodeString</c>'s alphabet. Upstream hashes
/// the Go struct with DeepHashObject; the Go layout does not exist here, so the hashed form is the template's JSON
/// with every object's keys sorted (ordinal): the same template always gives the same hash, whatever order its maps
/// were read in. The value only has to be stable and spread: ReplicaSets are matched by template (EqualIgnoreHash),
/// never by recomputing a hash.
/// </summary>
internal static class PodTemplateHash
{
    // k8s.io/apimachinery/pkg/util/rand: no vowels (no words) and no 0/1/3 (confusable with letters).
    private const string Alphanums = "bcdfghjklmnpqrstvwxz2456789";

    private const uint FnvOffset = 2166136261;
    private const uint FnvPrime = 16777619;

    public static string Compute(PodTemplateSpec template, int? collisionCount)
    {
        ArgumentNullException.ThrowIfNull(template);
        var hash = Fnv32a(FnvOffset, Canonical(template));
        if (collisionCount is { } count)
        {
            // Upstream writes an 8-byte buffer of which PutUint32 fills the first four (little endian).
            Span<byte> bytes = stackalloc byte[8];
            bytes.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, unchecked((uint)count));
            hash = Fnv32a(hash, bytes);
        }
        return SafeEncodeString(hash.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Upstream <c>rand.SafeEncodeString</c>: each byte picks a character of the alphabet by its value modulo its length.</summary>
    public static string SafeEncodeString(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return string.Create(s.Length, s, static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                chars[i] = Alphanums[(byte)source[i] % Alphanums.Length];
            }
        });
    }

    private static uint Fnv32a(uint hash, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            hash ^= b;
            hash = unchecked(hash * FnvPrime);
        }
        return hash;
    }

    private static byte[] Canonical(PodTemplateSpec template)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteSorted(writer, KubeJson.ToNode(template));
        }
        return buffer.ToArray();
    }

    private static void WriteSorted(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    WriteSorted(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    WriteSorted(writer, item);
                }
                writer.WriteEndArray();
                break;
            case null:
                writer.WriteNullValue();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
