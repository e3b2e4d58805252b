using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Controllers.EndpointSlices;
using static Berth.Controllers.Tests.EndpointRules.EndpointObjects;

namespace Berth.Controllers.Tests.EndpointRules;

// Ported from kubernetes staging/src/k8s.io/endpointslice/utils_test.go: TestNewEndpointSlice,
// TestSetEndpointSliceLabels; plus ownedBy, managedByController and getEndpointSlicePrefix.
public sealed class SliceMetadataTests
{
    private const string Controller = EndpointSliceRules.ControllerName;
    private const string ServiceName = EndpointSliceRules.ServiceNameLabel;
    private const string ManagedBy = EndpointSliceRules.ManagedByLabel;
    private const string Headless = "service.kubernetes.io/headless";

    private static Service BaseService() => new()
    {
        Metadata = new ObjectMeta { Name = "foo", Namespace = "test", Uid = "uid-foo" },
        Spec = new ServiceSpec { ClusterIP = "1.1.1.1", Ports = [new ServicePort { Port = 80 }], Selector = new() { ["foo"] = "bar" } },
    };

    public static TheoryData<string, Dictionary<string, string>?, Dictionary<string, string>?, string, Dictionary<string, string>> NewSliceCases => new()
    {
        { "Service without labels", null, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller } },
        { "Service with labels", new() { ["foo"] = "bar" }, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" } },
        { "Headless Service with labels", new() { ["foo"] = "bar" }, null, "None", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "", ["foo"] = "bar" } },
        { "Service with multiple labels", new() { ["foo"] = "bar", ["foo2"] = "bar2" }, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar", ["foo2"] = "bar2" } },
        { "Evil service hijacking endpoint slices labels", new() { [ServiceName] = "bad", [ManagedBy] = "actor", ["foo"] = "bar" }, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" } },
        { "Service with annotations", null, new() { ["foo"] = "bar" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller } },
    };

    [Theory]
    [MemberData(nameof(NewSliceCases))]
    public void NewEndpointSlice_Table(string name, Dictionary<string, string>? labels, Dictionary<string, string>? annotations, string clusterIP, Dictionary<string, string> expectedLabels)
    {
        var service = BaseService();
        service.Metadata!.Labels = labels;
        service.Metadata.Annotations = annotations;
        service.Spec!.ClusterIP = clusterIP;
        EndpointSlicePort[] ports = [new EndpointSlicePort { Name = "foo", Protocol = "TCP" }];

        var slice = EndpointSliceRules.NewEndpointSlice(service, ports, "IPv4", Controller);

        var expected = new EndpointSlice
        {
            Metadata = new ObjectMeta
            {
                Labels = expectedLabels,
                GenerateName = "foo-",
                Namespace = "test",
                OwnerReferences = [new OwnerReference { ApiVersion = "v1", Kind = "Service", Name = "foo", Uid = "uid-foo", Controller = true, BlockOwnerDeletion = true }],
            },
            Ports = [new EndpointSlicePort { Name = "foo", Protocol = "TCP" }],
            AddressType = "IPv4",
            Endpoints = [],
        };
        Assert.True(Json(Sorted(expected)) == Json(Sorted(slice)), $"{name}: expected {Json(Sorted(expected))}, got {Json(Sorted(slice))}");
        Assert.Null(slice.Metadata!.Annotations);
    }

    [Fact]
    public void NewEndpointSlice_PortsAreCopied_NotShared()
    {
        List<EndpointSlicePort> ports = [new EndpointSlicePort { Name = "foo", Port = 80 }];

        var slice = EndpointSliceRules.NewEndpointSlice(BaseService(), ports, "IPv4", Controller);
        ports.Clear();

        Assert.Single(slice.Ports!);
    }

    [Theory]
    [InlineData(63, true)]
    [InlineData(252, true)]
    [InlineData(253, false)]
    public void NewEndpointSlice_GenerateName_DashUnlessTooLong(int nameLength, bool dash)
    {
        var service = BaseService();
        service.Metadata!.Name = new string('a', nameLength);

        var slice = EndpointSliceRules.NewEndpointSlice(service, [], "IPv4", Controller);

        Assert.Equal(service.Metadata.Name + (dash ? "-" : ""), slice.Metadata!.GenerateName);
    }

    public static TheoryData<string, Dictionary<string, string>?, Dictionary<string, string>?, string, Dictionary<string, string>, bool> LabelCases => new()
    {
        { "Service without labels and empty endpoint slice", null, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, false },
        { "Headless service with labels and empty endpoint slice", null, new() { ["foo"] = "bar" }, "None", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "", ["foo"] = "bar" }, true },
        { "Headless service without labels and empty endpoint slice", null, null, "None", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "" }, false },
        { "Non Headless service with Headless label and empty endpoint slice", null, new() { [Headless] = "" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, false },
        { "Headless Service change to ClusterIP Service with headless label", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "" }, new() { [Headless] = "" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, false },
        { "Headless Service change to ClusterIP Service", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "" }, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, false },
        { "Headless service and endpoint slice with same labels", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" }, new() { ["foo"] = "bar" }, "None", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "", ["foo"] = "bar" }, false },
        { "Service with labels and empty endpoint slice", null, new() { ["foo"] = "bar" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" }, true },
        { "Slice with labels and service without labels", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" }, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, true },
        { "Slice with headless label and service with ClusterIP", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "" }, null, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, false },
        { "Slice with reserved labels and service with labels", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, new() { ["foo"] = "bar" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" }, true },
        { "Evil service trying to hijack slice labels only well-known slice labels", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, new() { [ServiceName] = "bad", [ManagedBy] = "actor", [Headless] = "invalid" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, false },
        { "Evil service trying to hijack slice labels with updates", new() { [ServiceName] = "foo", [ManagedBy] = Controller }, new() { [ServiceName] = "bad", [ManagedBy] = "actor", ["foo"] = "bar" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "bar" }, true },
        // Not upstream's table: an ExternalName-like Service (no cluster IP) counts as headless; a changed value is a change.
        { "Service without a cluster IP is headless", null, null, "", new() { [ServiceName] = "foo", [ManagedBy] = Controller, [Headless] = "" }, false },
        { "Label value changed", new() { ["foo"] = "old" }, new() { ["foo"] = "new" }, "1.1.1.1", new() { [ServiceName] = "foo", [ManagedBy] = Controller, ["foo"] = "new" }, true },
    };

    [Theory]
    [MemberData(nameof(LabelCases))]
    public void SetEndpointSliceLabels_Table(string name, Dictionary<string, string>? sliceLabels, Dictionary<string, string>? serviceLabels, string clusterIP, Dictionary<string, string> expected, bool expectedUpdate)
    {
        var service = BaseService();
        service.Metadata!.Labels = serviceLabels;
        service.Spec!.ClusterIP = clusterIP;
        var slice = new EndpointSlice { Metadata = new ObjectMeta { Labels = sliceLabels } };

        var (labels, changed) = EndpointSliceRules.SetEndpointSliceLabels(slice, service, Controller);

        Assert.True(expectedUpdate == changed, $"{name}: changed should be {expectedUpdate}");
        Assert.Equal(expected.OrderBy(l => l.Key, StringComparer.Ordinal), labels.OrderBy(l => l.Key, StringComparer.Ordinal));
    }

    public static TheoryData<string, OwnerReference[]?, bool> OwnedByCases => new()
    {
        { "controller reference to the service", [new OwnerReference { ApiVersion = "v1", Kind = "Service", Name = "foo", Uid = "uid-foo", Controller = true }], true },
        { "plain reference to the service", [new OwnerReference { ApiVersion = "v1", Kind = "Service", Name = "foo", Uid = "uid-foo" }], true },
        { "reference to a former service of that name", [new OwnerReference { ApiVersion = "v1", Kind = "Service", Name = "foo", Uid = "uid-old" }], false },
        { "same uid, another kind", [new OwnerReference { ApiVersion = "v1", Kind = "Endpoints", Name = "foo", Uid = "uid-foo" }], false },
        { "same uid, another apiVersion", [new OwnerReference { ApiVersion = "v2", Kind = "Service", Name = "foo", Uid = "uid-foo" }], false },
        { "no owner references", null, false },
    };

    [Theory]
    [MemberData(nameof(OwnedByCases))]
    public void OwnedBy_Table(string name, OwnerReference[]? owners, bool expected)
    {
        var slice = new EndpointSlice { Metadata = new ObjectMeta { OwnerReferences = owners?.ToList() } };

        Assert.True(expected == EndpointSliceRules.OwnedBy(slice, BaseService()), name);
    }

    [Theory]
    [InlineData(EndpointSliceRules.ControllerName, EndpointSliceRules.ControllerName, true)]
    [InlineData(EndpointSliceRules.MirroringControllerName, EndpointSliceRules.ControllerName, false)]
    [InlineData(null, EndpointSliceRules.ControllerName, false)]
    [InlineData("", EndpointSliceRules.ControllerName, false)]
    public void ManagedByController_ComparesTheManagedByLabel(string? managedBy, string controller, bool expected)
    {
        var slice = new EndpointSlice { Metadata = new ObjectMeta { Labels = managedBy is null ? [] : new() { [ManagedBy] = managedBy } } };

        Assert.Equal(expected, EndpointSliceRules.ManagedByController(slice, controller));
    }

    // Labels are a dictionary: compare them in key order.
    private static EndpointSlice Sorted(EndpointSlice slice)
    {
        var copy = KubeJson.DeepClone(slice);
        copy.Metadata!.Labels = copy.Metadata.Labels?.OrderBy(l => l.Key, StringComparer.Ordinal).ToDictionary();
        return copy;
    }
}
