using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Berth.Api.Serialization.Protobuf;

namespace Berth.Api.Tests.Protobuf;

/// <summary>Bodies captured from the real kubectl (see Fixtures/README.md) against kubectl's own JSON for the same command.</summary>
public sealed class KubeProtobufFixtureTests
{
    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(FixtureDirectory(), "*.pb").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TryDecode_KubectlBody_MatchesKubectlJson(string fixture)
    {
        var body = File.ReadAllBytes(Path.Combine(FixtureDirectory(), fixture + ".pb"));
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDirectory(), fixture + ".json")));

        var ok = KubeProtobuf.TryDecode(body, out var actual, out var error);

        Assert.True(ok, error);
        Assert.Null(error);
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString()}\nactual   {actual?.ToJsonString()}");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TryDecode_EveryTruncation_FailsCleanlyOrDecodes(string fixture)
    {
        var body = File.ReadAllBytes(Path.Combine(FixtureDirectory(), fixture + ".pb"));
        var failures = 0;
        for (var length = 0; length < body.Length; length++)
        {
            var ok = KubeProtobuf.TryDecode(body.AsSpan(0, length), out var obj, out var error);
            AssertConsistent(ok, obj, error);
            failures += ok ? 0 : 1;
        }

        // Cutting inside the envelope's raw field always breaks a length prefix.
        Assert.True(failures >= body.Length - 8, $"only {failures} of {body.Length} truncations failed");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TryDecode_EverySingleByteCorruption_FailsCleanlyOrDecodes(string fixture)
    {
        var body = File.ReadAllBytes(Path.Combine(FixtureDirectory(), fixture + ".pb"));
        foreach (var replacement in new byte[] { 0x00, 0x07, 0x7F, 0x80, 0xFF })
        {
            for (var i = 0; i < body.Length; i++)
            {
                var copy = (byte[])body.Clone();
                copy[i] = replacement;
                var ok = KubeProtobuf.TryDecode(copy, out var obj, out var error);
                AssertConsistent(ok, obj, error);
            }
        }
    }

    private static void AssertConsistent(bool ok, JsonObject? obj, string? error)
    {
        if (ok)
        {
            Assert.NotNull(obj);
            Assert.Null(error);
        }
        else
        {
            Assert.Null(obj);
            Assert.False(string.IsNullOrEmpty(error));
        }
    }

    // Fixtures are read from the source tree so the shared test project file needs no copy rule.
    private static string FixtureDirectory([CallerFilePath] string sourceFile = "") =>
        Path.Combine(Path.GetDirectoryName(sourceFile)!, "Fixtures");
}
