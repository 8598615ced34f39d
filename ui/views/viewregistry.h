// The one table of the main window's views (DESIGN.md, "one view registry instead of tab
// indices"). A row names a view as presets, tours, --view and --chart do (the engine's
// presetViews(): a test holds the two equal), gives its tab title, tooltip, shortcut and group,
// and says how the view is made, reaches its spec and draws its figure for export. The tabs, the
// View menu and its shortcuts, showView / currentView, the spec fan-out to the analysis views,
// the export dispatch (the window's Ctrl+E, initscope-cli export, the tour export) and the names
// listed in help texts and error messages are all derived from it: a new view is one row.
//
// Layer views draw the run the main window computes (it feeds them, figure.h); analysis views
// (everything else) are widgets with their own worker, made and fed through their row.
#pragma once

#include "spec/spec.h"

#include <QKeySequence>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <vector>

struct QMetaObject;
class QWidget;

namespace initscope {
struct Preset;
} // namespace initscope

namespace initscope::ui {

struct FigureData;

/// The View menu's sections, in tab order.
enum class ViewGroup { Layers, Analysis, Training, Applications };

struct ViewInfo {
    QString name;          // presets, tours, --view, --chart, export file names
    const char* title;     // the tab's text with its mnemonic (tabTitle() translates it)
    const char* toolTip;   // what the view shows (toolTipText() translates it)
    QKeySequence shortcut; // empty: reached through the View menu only
    ViewGroup group = ViewGroup::Layers;

    // ---- a layer view (group Layers): the window feeds its live chart; an export draws
    /// a fresh chart of the run `data`.
    std::function<std::unique_ptr<QWidget>(const FigureData&)> makeFigure;

    // ---- an analysis view (every other group)
    const QMetaObject* type = nullptr; // the view's class (findView(const QWidget*))
    /// A new view, not shown.
    std::function<QWidget*()> make;
    /// The spec of the main controls (each view decides whether and when to recompute).
    std::function<void(QWidget*, const NetworkSpec&)> setSpec;
    /// The settings a preset that opens this view carries (probe count, "view_settings");
    /// null where it carries none.
    std::function<void(QWidget*, const Preset&)> applyPreset;
    /// The panels of its figure, without the view's controls and notes.
    std::function<std::vector<QWidget*>(QWidget*)> figureParts;
    /// A fresh, unshown view showing what `view` shows, copied, not computed again.
    std::function<std::unique_ptr<QWidget>(const QWidget*)> copy;
    /// For a fresh view given its preset and spec, before it is shown offscreen: calls `done`
    /// once its result is drawn, and starts what the window leaves to a button (the
    /// trainability map, the training). Null: the view is not drawn without the window.
    std::function<void(QWidget*, const std::function<void()>&)> startFigure;
    /// Why such a fresh view cannot draw its figure (fields named; before startFigure: what
    /// its Start would refuse, after `done`: a computation that failed), or empty. Null: none.
    std::function<QString(QWidget*)> figureProblems;

    bool isLayerView() const { return group == ViewGroup::Layers; }
    QString tabTitle() const;
    QString toolTipText() const;
};

/// Every view, in tab order.
const std::vector<ViewInfo>& viewRegistry();
/// The row of view `name` (case-insensitive), or null.
const ViewInfo* findView(const QString& name);
/// The row of the analysis view `widget` is (or a copy of one is), or null.
const ViewInfo* findView(const QWidget* widget);
/// "Layers", "Analysis", "Training", "Applications".
QString viewGroupTitle(ViewGroup group);

/// Names in tab order: every view, the layer views, the analysis views.
QStringList viewNames();
QStringList layerViewNames();
QStringList analysisViewNames();
/// Views a figure can be exported of without the window (initscope-cli export, the tour
/// export): the layer views and the analysis views with a startFigure.
QStringList exportableViewNames();

} // namespace initscope::ui
