using Berth.Api.Models;
using Berth.Api.Serialization;

namespace Berth.Api.Tests.Models;

public sealed class KubeKindsTests
{
    [Theory]
    [InlineData("v1", "Pod", typeof(Pod), KindShape.Object)]
    [InlineData("v1", "PodList", typeof(PodList), KindShape.List)]
    [InlineData("v1", "Event", typeof(Event), KindShape.Object)]
    [InlineData("apps/v1", "ReplicaSet", typeof(ReplicaSet), KindShape.Object)]
    [InlineData("discovery.k8s.io/v1", "EndpointSliceList", typeof(EndpointSliceList), KindShape.List)]
    [InlineData("coordination.k8s.io/v1", "Lease", typeof(Lease), KindShape.Object)]
    [InlineData("autoscaling/v1", "Scale", typeof(Scale), KindShape.Object)]
    [InlineData("policy/v1", "Eviction", typeof(Eviction), KindShape.Object)]
    [InlineData("v1", "Status", typeof(Status), KindShape.Other)]
    public void TryGet_ApiVersionKind_FindsType(string apiVersion, string kind, Type type, KindShape shape)
    {
        Assert.True(KubeKinds.TryGet(apiVersion, kind, out var info));
        Assert.Equal(type, info.Type);
        Assert.Equal(shape, info.Shape);
        Assert.True(KubeKinds.TryGet(type, out var byType));
        Assert.Same(info, byType);
    }

    [Theory]
    [InlineData("v1", "Deployment")]
    [InlineData("apps/v1", "Pod")]
    [InlineData("v1", "pod")]
    public void TryGet_WrongGroupOrCase_NotFound(string apiVersion, string kind)
    {
        Assert.False(KubeKinds.TryGet(apiVersion, kind, out _));
    }

    [Fact]
    public void All_EveryKind_SerializableAndShapedAsDeclared()
    {
        Assert.True(KubeKinds.All.Count >= 30);
        foreach (var info in KubeKinds.All)
        {
            Assert.NotNull(KubeJson.TypeInfo(info.Type));
            Assert.Equal(info.Shape == KindShape.Object, typeof(IKubernetesObject).IsAssignableFrom(info.Type));
            Assert.Equal(info.Shape == KindShape.List, typeof(IKubernetesList).IsAssignableFrom(info.Type));
        }
    }

    [Fact]
    public void EnumerateItems_PodList_YieldsPods()
    {
        IKubernetesList list = new PodList { Items = [new Pod(), new Pod()] };

        Assert.Equal(2, list.EnumerateItems().Count());
        Assert.Empty(((IKubernetesList)new PodList()).EnumerateItems());
    }
}
