using Berth.Api.Models;

namespace Berth.Controllers.Tests.ServiceEndpoints;

/// <summary>Subsets as one line of text, so an assertion shows the whole difference.</summary>
internal static class SubsetText
{
    /// <param name="strict">Tell a missing list from an empty one (Go's reflect.DeepEqual does); false for objects
    /// read back from the API server, which may leave empty lists out.</param>
    public static string Of(IEnumerable<EndpointSubset>? subsets, bool strict = false) =>
        subsets is null ? (strict ? "nil" : "[]") : "[" + string.Join(", ", subsets.Select(s => Of(s, strict))) + "]";

    private static string Of(EndpointSubset subset, bool strict) =>
        $"{{ready={List(subset.Addresses, Of, strict)} notReady={List(subset.NotReadyAddresses, Of, strict)} ports={List(subset.Ports, Of, strict)}}}";

    private static string Of(EndpointAddress a) =>
        $"{a.Ip}|{a.Hostname}|{a.NodeName}|{(a.TargetRef is { } r ? $"{r.Kind}/{r.Namespace}/{r.Name}/{r.Uid}@{r.ResourceVersion}" : "-")}";

    private static string Of(EndpointPort p) => $"{p.Name}:{p.Port}/{p.Protocol}/{p.AppProtocol}";

    private static string List<T>(List<T>? items, Func<T, string> format, bool strict) =>
        items is null ? (strict ? "nil" : "[]") : "[" + string.Join(" ", items.Select(format)) + "]";
}
