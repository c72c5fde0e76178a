import {
  Background,
  type Connection,
  Controls,
  type Edge,
  MiniMap,
  type NodeChange,
  type NodeTypes,
  ReactFlow,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, useMemo, useState } from "react";
import * as build from "../model/builders";
import { applyOverrides, type Drag, type DragStop, dragStop, overridesFrom } from "../model/canvasDrag";
import { decodeItem, dropEdit, MIME } from "../model/drop";
import { nameOf } from "../model/elementKey";
import { type FlowNode, stableFlow } from "../model/graph";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { Confirm } from "./Confirm";
import { DeckyNode } from "./DeckyNode";
import { LanNode } from "./LanNode";

const nodeTypes: NodeTypes = { lan: LanNode, decky: DeckyNode };
const LARGE = 300;
// Cards never rendered (off screen) have no measured size: fit by their declared one.
const FIT = { maxZoom: 1, padding: 0.1, includeHiddenNodes: true };

export function Canvas({ view }: { view: EditorView }) {
  const selected = useStore((s) => s.selected);
  const select = useStore((s) => s.select);
  const edit = useStore((s) => s.edit);
  const moveElement = useStore((s) => s.moveElement);
  const setNotice = useStore((s) => s.setNotice);
  const { screenToFlowPosition } = useReactFlow();
  const [flowOf] = useState(stableFlow);
  const [drag, setDrag] = useState<Drag | null>(null);
  const [asking, setAsking] = useState<Extract<DragStop, { kind: "home" }> | null>(null);
  const t = view.projection.topology;

  const flow = useMemo(
    () =>
      flowOf({
        topology: t,
        layout: view.layout,
        marks: view.projection.marks,
        issues: view.issues,
        states: view.states,
        editable: view.editable,
        selected,
      }),
    [flowOf, t, view, selected],
  );
  const nodes = applyOverrides(flow.nodes, drag);
  // A large maze opens at full size on its DMZ (rendering only the cards on screen); a small
  // one is fitted. fitView would first render every card to measure it.
  const [opening] = useState(() => {
    const dmz = t.lans.find((l) => l.is_dmz);
    const box = dmz ? view.layout.lans.get(dmz.name) : undefined;
    return t.deckies.length > LARGE && box ? { x: 40 - box.x, y: 40 - box.y, zoom: 1 } : null;
  });

  const onNodesChange = (changes: NodeChange<FlowNode>[]): void => {
    const over = overridesFrom(changes, drag?.base === flow.nodes ? drag.over : {});
    setDrag({ base: flow.nodes, over });
    for (const c of changes) if (c.type === "select" && c.selected) select(c.id);
  };

  const moveHome = (m: Extract<DragStop, { kind: "home" }>): void => void edit(build.moveHome(t, m.decky, m.lan, m.canvas, view.live));

  const onNodeDragStop = (_e: unknown, node: FlowNode): void => {
    const stop = dragStop(t, view.layout, node, view.live);
    if (!stop) return;
    if (stop.kind === "layout") void moveElement(stop.element, stop.name, stop.canvas);
    else if (stop.confirm) setAsking(stop);
    else moveHome(stop);
  };

  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    const item = decodeItem(e.dataTransfer.getData(MIME));
    if (!item || !view.editable) return;
    const result = dropEdit(item, screenToFlowPosition({ x: e.clientX, y: e.clientY }), t, view.layout);
    if ("error" in result) setNotice({ kind: "warning", text: result.error });
    else void edit(result.edit);
  };

  const onConnect = (c: Connection): void => {
    const decky = nameOf(c.source, "decky");
    const lan = nameOf(c.target, "lan");
    if (decky && lan) void edit(build.attach(t, decky, lan));
  };

  const isValidConnection = (c: Connection | Edge): boolean => {
    const lan = nameOf(c.target, "lan");
    const d = t.deckies.find((x) => x.name === nameOf(c.source, "decky"));
    return !!d && lan !== null && !d.memberships.some((m) => m.lan === lan);
  };

  return (
    <div className="canvas" data-testid="canvas" onDragOver={(e) => e.preventDefault()}>
      <ReactFlow<FlowNode, Edge>
        nodes={nodes}
        edges={flow.edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onPaneClick={() => select(null)}
        onDrop={onDrop}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
        }}
        nodesDraggable={view.editable}
        nodesConnectable={view.editable}
        deleteKeyCode={null}
        selectionKeyCode={null}
        multiSelectionKeyCode={null}
        onlyRenderVisibleElements
        fitView={opening === null}
        fitViewOptions={FIT}
        defaultViewport={opening ?? undefined}
        minZoom={0.05}
        maxZoom={2}
      >
        <Background gap={24} />
        <MiniMap pannable zoomable nodeStrokeWidth={2} nodeColor={(n) => (n.type === "lan" ? "#c9d4ee" : "#8d98b3")} />
        <Controls showInteractive={false} fitViewOptions={FIT} />
      </ReactFlow>
      {asking && (
        <Confirm
          title={`Move ${asking.decky} to ${asking.lan}?`}
          confirm="Stage the move"
          danger
          onCancel={() => {
            setAsking(null);
            setDrag(null); // the card goes back where it was
          }}
          onConfirm={() => {
            setAsking(null);
            moveHome(asking);
          }}
        >
          <p>{asking.confirm}</p>
        </Confirm>
      )}
    </div>
  );
}
