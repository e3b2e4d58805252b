using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Client;

public sealed partial class KubeClient
{
    /// <summary>
    /// Streams a watch's newline-delimited events until the server ends the stream (its timeoutSeconds) or
    /// <paramref name="ct"/> is cancelled. An expired resourceVersion arrives as an Error event with code 410.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(string? ns, ListOptions options, [EnumeratorCancellation] CancellationToken ct = default)
        where T : class, IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = ResourcePaths.For<T>().Path(ns) + Query(options, watch: true);
        using var response = await SendRawAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var reader = PipeReader.Create(body);
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(ct).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    while (TryReadLine(ref buffer, out var line))
                    {
                        if (ParseEvent<T>(line) is { } e)
                        {
                            yield return e;
                        }
                    }
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        break;
                    }
                }
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            if (segment.Span.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                return false;
            }
        }
        return true;
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is not { } end)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        return true;
    }

    /// <summary>One <c>{"type":…,"object":…}</c> line; null for a blank line.</summary>
    internal static WatchEvent<T>? ParseEvent<T>(ReadOnlySequence<byte> line)
        where T : class
    {
        if (IsBlank(line))
        {
            return null;
        }
        var reader = new Utf8JsonReader(line);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("a watch event must be a JSON object");
        }
        var type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (!root.TryGetProperty("object", out var obj))
        {
            throw new JsonException("a watch event has no object");
        }
        return type switch
        {
            "ADDED" => new(WatchEventType.Added, obj.Deserialize(KubeJson.TypeInfo<T>()), null),
            "MODIFIED" => new(WatchEventType.Modified, obj.Deserialize(KubeJson.TypeInfo<T>()), null),
            "DELETED" => new(WatchEventType.Deleted, obj.Deserialize(KubeJson.TypeInfo<T>()), null),
            "BOOKMARK" => new(WatchEventType.Bookmark, obj.Deserialize(KubeJson.TypeInfo<T>()), null),
            "ERROR" => new(WatchEventType.Error, null, obj.Deserialize(KubeJson.TypeInfo<Status>())),
            _ => throw new JsonException($"unknown watch event type {type}"),
        };
    }
}
