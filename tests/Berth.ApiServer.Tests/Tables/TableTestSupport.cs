using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using Berth.ApiServer.Tables;

namespace Berth.ApiServer.Tests.Tables;

internal static class TableTestSupport
{
    /// The fixed "now" every test measures ages against.
    public static readonly DateTimeOffset Now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// An RFC 3339 timestamp this far before <see cref="Now"/>.
    public static string Ago(TimeSpan age) =>
        (Now - age).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// Parses a JSON literal; "T-10s", "T-2m", "T-5d" string values become timestamps that long before Now.
    public static JsonObject Parse(string json) =>
        JsonNode.Parse(Regex.Replace(json, "\"T-(\\d+)([smhd])\"", m => "\"" + Ago(Span(m)) + "\""))!.AsObject();

    private static TimeSpan Span(Match m)
    {
        var n = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
    }

    /// Cells as plain values: strings stay strings, JSON numbers become long.
    public static object[] Row(string resource, string json) => Values(TablePrinters.Cells(resource, Parse(json), Now));

    public static object[] Values(JsonArray cells) => cells
        .Select(c => c!.GetValueKind() == JsonValueKind.Number ? (object)c.GetValue<long>() : c.GetValue<string>())
        .ToArray();
}
