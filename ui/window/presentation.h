// Presentation mode (F5; Esc or F5 leaves): the window full screen, its docks, menu and status
// bar hidden, a bar above the charts with the step's number, title and note and only the
// controls the step is about (the panel's own widgets, lent to the bar and given back, so they
// stay live: drag the gain, then go on), and the live charts in lecture style (large fonts,
// thick lines) readable from the back of a room on a 1280 x 720 projector. PageDown / PageUp and
// the arrow keys step through the tour.
#pragma once

#include <QByteArray>
#include <QFont>
#include <QObject>
#include <QPointer>
#include <QString>

#include <vector>

class QAction;
class QHBoxLayout;
class QLabel;
class QTabWidget;
class QWidget;
class QAbstractAxis;
class QChart;

namespace initscope::ui {

class ControlPanel;
class MainWindow;
class TourController;

class PresentationMode : public QObject {
    Q_OBJECT
public:
    /// Text sizes on screen in presentation mode, in points (at 96 dpi: 1 pt = 4/3 px).
    static constexpr double kBarTitlePt = 22, kBarTextPt = 17, kChartTextPt = 16,
                            kChartTitlePt = 19, kViewTextPt = 14;
    static constexpr double kLineScale = 2.0;     // chart lines twice as thick
    static constexpr double kMinPanelScale = 0.6; // text of a view of many panels, at least

    PresentationMode(MainWindow* window, QTabWidget* views, ControlPanel* controls,
                     TourController* tour);
    ~PresentationMode() override;

    bool isActive() const { return active_; }
    void enter();
    void leave();
    void toggle();
    /// F5: the toggle (its shortcut is the window's).
    QAction* toggleAction() const { return toggle_; }

    // ---- for tests
    QWidget* bar() const { return bar_; }
    /// The controls lent to the bar now (the panel's widgets), in order.
    std::vector<QWidget*> lentControls() const;
    QLabel* stepLabel() const { return step_; }
    QLabel* titleLabel() const { return title_; }
    QLabel* noteLabel() const { return note_; }

private:
    struct Lent {
        QPointer<QWidget> control;
        QPointer<QWidget> placeholder; // holds its place in the panel's layout
        QPointer<QWidget> row;         // its label and it, in the bar
    };
    struct SavedChart {
        QPointer<QChart> chart;
        QFont title, legend;
        std::vector<std::pair<QPointer<QAbstractAxis>, std::pair<QFont, QFont>>> axes;
    };
    void showStep();
    void lendControls(const std::vector<std::string>& fields);
    void returnControls();
    void styleCharts(bool lecture);

    MainWindow* window_;
    QTabWidget* views_;
    ControlPanel* controls_;
    TourController* tour_;
    QAction* toggle_;
    bool active_ = false;
    QByteArray savedState_, savedGeometry_;
    Qt::WindowStates savedWindowState_;
    bool menuWasVisible_ = true, statusWasVisible_ = true, tabBarWasVisible_ = true;
    std::vector<QPointer<QWidget>> hiddenDocks_;
    QList<QAction*> borrowedActions_; // the menus' actions, on the window while the menu is hidden
    QWidget* container_ = nullptr;    // the bar above the views, the central widget meanwhile
    QWidget* bar_ = nullptr;
    QLabel* step_ = nullptr;
    QLabel* title_ = nullptr;
    QLabel* note_ = nullptr;
    QHBoxLayout* controlsRow_ = nullptr;
    std::vector<Lent> lent_;
    std::vector<SavedChart> savedCharts_;
    std::vector<std::pair<QPointer<QWidget>, QFont>> savedFonts_; // heatmaps (widget fonts)
};

} // namespace initscope::ui
